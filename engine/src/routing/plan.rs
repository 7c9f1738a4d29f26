//! A request's route: its group first, then the group's fallbacks, skipping groups already
//! visited and groups the caller's key may not use.
//!
//! Fallback lists are the *requested* group's, whichever group failed last (as LiteLLM reads
//! them): general fallbacks when a group cannot serve, context-window fallbacks when the
//! prompt is too long, content-policy fallbacks when the provider refused the content.

use crate::ids::GroupId;

/// Why a request leaves its current group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackKind {
    /// The group failed or has nothing available.
    General,
    ContextWindow,
    ContentPolicy,
}

/// One model group's routing facts, as the router resolved them at start-up.
#[derive(Debug, Clone)]
pub struct GroupRoute {
    pub name: std::sync::Arc<str>,
    pub fallbacks: Vec<GroupId>,
    pub context_window_fallbacks: Vec<GroupId>,
    pub content_policy_fallbacks: Vec<GroupId>,
    pub max_attempts: u32,
    pub queue_timeout: std::time::Duration,
}

/// Where one request has been and where it is.
#[derive(Debug, Clone)]
pub struct Plan {
    requested: GroupId,
    current: GroupId,
    visited: Vec<GroupId>,
}

impl Plan {
    pub fn new(group: GroupId) -> Self {
        Self {
            requested: group,
            current: group,
            visited: vec![group],
        }
    }

    pub fn current(&self) -> GroupId {
        self.current
    }

    pub fn requested(&self) -> GroupId {
        self.requested
    }

    /// Moves to the next fallback group of `kind` the key `allows`; `None` when none is left.
    /// `routes` is indexed by group id.
    pub fn next(
        &mut self,
        kind: FallbackKind,
        routes: &[GroupRoute],
        allows: &dyn Fn(&str) -> bool,
    ) -> Option<GroupId> {
        let route = routes.get(self.requested.index())?;
        let list = match kind {
            FallbackKind::General => &route.fallbacks,
            FallbackKind::ContextWindow => &route.context_window_fallbacks,
            FallbackKind::ContentPolicy => &route.content_policy_fallbacks,
        };
        let next = list.iter().copied().find(|g| {
            !self.visited.contains(g) && routes.get(g.index()).is_some_and(|r| allows(&r.name))
        })?;
        self.visited.push(next);
        self.current = next;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, fallbacks: &[u32], context: &[u32]) -> GroupRoute {
        GroupRoute {
            name: name.into(),
            fallbacks: fallbacks.iter().map(|g| GroupId(*g)).collect(),
            context_window_fallbacks: context.iter().map(|g| GroupId(*g)).collect(),
            content_policy_fallbacks: Vec::new(),
            max_attempts: 2,
            queue_timeout: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn walks_fallbacks_in_order_once_each_and_only_where_the_key_may_go() {
        let routes = [
            route("a", &[1, 2, 0, 1], &[2]),
            route("b", &[0], &[]),
            route("c", &[], &[]),
        ];
        let mut plan = Plan::new(GroupId(0));
        let all = |_: &str| true;
        assert_eq!(
            plan.next(FallbackKind::General, &routes, &all),
            Some(GroupId(1))
        );
        assert_eq!(
            plan.next(FallbackKind::General, &routes, &all),
            Some(GroupId(2))
        );
        assert_eq!(plan.next(FallbackKind::General, &routes, &all), None);
        assert_eq!(plan.current(), GroupId(2));

        let mut plan = Plan::new(GroupId(0));
        let not_b = |name: &str| name != "b";
        assert_eq!(
            plan.next(FallbackKind::General, &routes, &not_b),
            Some(GroupId(2))
        );

        let mut plan = Plan::new(GroupId(0));
        assert_eq!(
            plan.next(FallbackKind::ContextWindow, &routes, &all),
            Some(GroupId(2))
        );
        assert_eq!(plan.next(FallbackKind::ContentPolicy, &routes, &all), None);
    }
}
