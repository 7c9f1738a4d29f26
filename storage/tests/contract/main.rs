//! Contract suites: one per storage role, written once, run against every backend.
//!
//! Each case is a plain async function taking a fresh [`fixture::Fixture`]; the macros below
//! turn every case into one `#[tokio::test]` per backend (`memory::…`, `sqlite::…`,
//! `postgres::…`). PostgreSQL cases skip loudly when no server is reachable, unless
//! `PORTCULLIS_REQUIRE_SERVICES=1`.

// Test-only crate: helpers outside #[test] fns may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit_log;
mod fixture;
mod key_store;
mod postgres_only;
mod spend_sink;
mod sqlite_only;

pub use spend_sink::record as spend_sink_record;

macro_rules! cases {
    ($open:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fx) = $open().await else { return };
                crate::$module::$case(&fx).await;
            }
        )*
    };
}

macro_rules! all_cases {
    ($open:path) => {
        cases!($open;
            key_store::created_key_is_found_by_hash_and_by_id,
            key_store::duplicate_ids_and_hashes_are_refused,
            key_store::presenting_the_stored_hash_as_a_key_fails,
            key_store::list_pages_by_id_and_filters_by_team,
            key_store::update_changes_only_what_it_names,
            key_store::rotation_keeps_the_old_key_until_grace_then_fails,
            key_store::revoke_refuses_the_key_at_once_and_keeps_the_first_time,
            key_store::delete_removes_both_hashes,
            key_store::team_scope_tightens_its_keys,
            key_store::deleting_a_team_removes_every_key_of_it,
            key_store::teams_list_in_pages,
            spend_sink::report_sums_per_key_within_the_half_open_range,
            spend_sink::report_groups_by_team_model_and_day,
            spend_sink::report_filters_by_key_and_team,
            spend_sink::total_sums_a_key_or_team_since_an_instant,
            spend_sink::a_batch_with_a_bad_record_is_refused_whole,
            audit_log::appends_form_one_chain_that_verifies,
            audit_log::concurrent_appends_from_one_store_stay_one_chain,
        );
    };
}

mod memory {
    all_cases!(crate::fixture::memory);
}

mod sqlite {
    all_cases!(crate::fixture::sqlite);
}

mod postgres {
    all_cases!(crate::fixture::postgres);
}
