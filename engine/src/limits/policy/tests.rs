use super::*;
use portcullis_storage::{KeyId, ModelAccess, ResetPeriod, TeamId};

const NOW: u64 = 1_796_075_640_000;

/// $1 per million input and $2 per million output tokens.
fn price() -> Price {
    Price::flat(crate::cost::Rates::new(
        MicroUsd::from_micros(1_000_000),
        MicroUsd::from_micros(2_000_000),
    ))
}

fn key(team: bool) -> VirtualKey {
    let mut key = VirtualKey::new(KeyId::parse("alice").unwrap(), ModelAccess::All);
    key.key_scope.rpm = Some(10);
    key.key_scope.budget = Some(Budget {
        max_micro_usd: 100_000,
        reset: ResetPeriod::Daily,
    });
    if team {
        key.team = Some(TeamId::parse("search").unwrap());
        key.team_scope = Some(Scope {
            tpm: Some(1000),
            max_parallel: Some(2),
            ..Scope::default()
        });
    }
    key
}

fn input<'a>(key: &'a VirtualKey, max_tokens: Option<u64>, p: Option<&'a Price>) -> PlanInput<'a> {
    PlanInput {
        request_id: "r1",
        key,
        model: "gpt",
        prompt_tokens: 100,
        max_tokens,
        price: p,
        now_unix_ms: NOW,
        remaining_budget: None,
    }
}

#[test]
fn key_and_team_limits_share_the_teams_tag() {
    let k = key(true);
    let p = price();
    let plan = LimitsPolicy::default()
        .plan(&input(&k, Some(400), Some(&p)))
        .unwrap();
    let a = &plan.admission;
    assert_eq!(a.tag, "t:search");
    let names: Vec<&str> = a.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["k:alice:rpm", "t:search:tpm"]);
    assert_eq!(a.buckets[1].take, 500);
    assert_eq!(a.parallel[0].name, "t:search:parallel");
    assert_eq!(a.budgets.len(), 1);
    assert_eq!(a.budgets[0].period.tag, "t:search");
    // 100 prompt tokens at $1/M + 400 completion at $2/M = 100 + 800 micro-USD.
    assert_eq!(a.budgets[0].amount_micro_usd, 900);
    assert_eq!(plan.inject_max_tokens, None);
}

#[test]
fn a_key_without_a_team_is_its_own_tag() {
    let k = key(false);
    let p = price();
    let plan = LimitsPolicy::default()
        .plan(&input(&k, Some(1), Some(&p)))
        .unwrap();
    assert_eq!(plan.admission.tag, "k:alice");
    assert_eq!(plan.admission.budgets[0].period.name, "k:alice:budget");
}

#[test]
fn an_unpriced_model_under_a_budget_is_refused_or_priced_as_declared() {
    let k = key(false);
    let deny = LimitsPolicy::default();
    assert_eq!(
        deny.plan(&input(&k, Some(10), None)).unwrap_err(),
        PlanError::Unpriced
    );
    let priced = LimitsPolicy {
        unpriced: Unpriced::Price(price()),
        ..LimitsPolicy::default()
    };
    let plan = priced.plan(&input(&k, Some(10), None)).unwrap();
    assert_eq!(plan.admission.budgets[0].amount_micro_usd, 120);
    let mut free = key(false);
    free.key_scope.budget = None;
    assert!(deny.plan(&input(&free, Some(10), None)).is_ok());
}

#[test]
fn without_max_tokens_a_budget_reserves_and_sends_the_default_or_what_fits() {
    let k = key(false);
    let p = price();
    let policy = LimitsPolicy {
        default_max_tokens: 1000,
        ..LimitsPolicy::default()
    };
    let plan = policy.plan(&input(&k, None, Some(&p))).unwrap();
    assert_eq!(plan.inject_max_tokens, Some(1000));
    assert_eq!(plan.admission.budgets[0].amount_micro_usd, 2100);
    let clamp = LimitsPolicy {
        missing_max_tokens: MissingMaxTokens::Clamp,
        ..policy
    };
    let mut tight = input(&k, None, Some(&p));
    tight.remaining_budget = Some(MicroUsd::from_micros(300));
    let plan = clamp.plan(&tight).unwrap();
    // 100 µ$ of prompt leaves 200 µ$: 100 completion tokens at $2/M.
    assert_eq!(plan.inject_max_tokens, Some(100));
    assert!(plan.worst_case.as_micros() <= 300);
    tight.remaining_budget = Some(MicroUsd::from_micros(50));
    assert_eq!(clamp.plan(&tight).unwrap_err(), PlanError::BudgetExhausted);
}

#[test]
fn model_limits_are_global_buckets_under_a_brace_free_tag() {
    let mut k = key(false);
    k.key_scope = Scope::default();
    let mut policy = LimitsPolicy::default();
    policy.models.insert(
        "odd{model}".into(),
        ModelLimits {
            rpm: Some(5),
            ..ModelLimits::default()
        },
    );
    let mut i = input(&k, Some(1), None);
    i.model = "odd{model}";
    assert!(policy.applies_to(&k, "odd{model}"));
    assert!(!policy.applies_to(&k, "gpt"));
    let plan = policy.plan(&i).unwrap();
    assert_eq!(plan.admission.global_tag, "m:odd%7Bmodel%7D");
    assert_eq!(
        plan.admission.global_buckets[0].name,
        "m:odd%7Bmodel%7D:rpm"
    );
    assert!(plan.admission.buckets.is_empty());
}

#[test]
fn tpm_weights_apply_to_estimate_and_actual() {
    let policy = LimitsPolicy {
        weights: TokenWeights {
            input: 100,
            output: 300,
            cached: 10,
        },
        ..LimitsPolicy::default()
    };
    assert_eq!(policy.tpm_estimate(100, 10), 130);
    let usage = Usage {
        prompt_tokens: 100,
        completion_tokens: 10,
        cached_tokens: 50,
        cache_write_tokens: 0,
    };
    assert_eq!(policy.tpm_actual(&usage), 50 + 5 + 30);
}

#[test]
fn a_model_budget_is_a_global_reservation_under_the_model_tag() {
    let k = key(false);
    let mut policy = LimitsPolicy::default();
    policy.models.insert(
        "gpt".into(),
        ModelLimits {
            budget: Some(Budget {
                max_micro_usd: 5_000_000,
                reset: ResetPeriod::Monthly,
            }),
            ..ModelLimits::default()
        },
    );
    let p = price();
    let plan = policy.plan(&input(&k, Some(10), Some(&p))).unwrap();
    let a = &plan.admission;
    assert_eq!(a.budgets.len(), 1, "the key's own budget");
    assert_eq!(a.global_tag, "m:gpt");
    assert_eq!(a.global_budgets.len(), 1);
    let g = &a.global_budgets[0];
    assert_eq!(
        (g.period.tag.as_str(), g.period.name.as_str()),
        ("m:gpt", "m:gpt:budget")
    );
    assert_eq!(g.limit_micro_usd, 5_000_000);
    assert_eq!(g.amount_micro_usd, plan.worst_case.as_micros());
    assert!(a.global_buckets.is_empty());

    // A model budget alone puts a key with no limits of its own under admission, and an
    // unpriced model under it follows the unpriced policy.
    let mut free = key(false);
    free.key_scope = Scope::default();
    assert!(policy.applies_to(&free, "gpt"));
    assert_eq!(
        policy.plan(&input(&free, Some(10), None)).unwrap_err(),
        PlanError::Unpriced
    );
}
