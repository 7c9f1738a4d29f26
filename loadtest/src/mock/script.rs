//! Per-model scripts and counters: the mock tells deployments apart by the
//! upstream model name, so a test scripts "deployment A answers 429 then 200"
//! as a sequence of behaviours for A's model.
//!
//! [`ModelScripts`] is pure state behind one lock in [`super::state`]; a
//! request's [`ModelScripts::step`] counts it and takes its behaviour in one
//! call, so concurrent requests each consume exactly one scripted step.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::Behaviour;

/// Scripts and request counts, keyed by model name.
#[derive(Debug, Default)]
pub(crate) struct ModelScripts {
    models: HashMap<String, ModelEntry>,
}

#[derive(Debug, Default)]
struct ModelEntry {
    /// Behaviours still to be used, one per request, front first.
    sequence: VecDeque<Arc<Behaviour>>,
    /// Used once the sequence is exhausted.
    standing: Option<Arc<Behaviour>>,
    /// Requests that named this model.
    requests: u64,
}

impl ModelScripts {
    /// Replaces `model`'s pending sequence.
    pub(crate) fn set_sequence(&mut self, model: &str, seq: impl IntoIterator<Item = Behaviour>) {
        self.entry(model).sequence = seq.into_iter().map(Arc::new).collect();
    }

    /// Sets `model`'s standing behaviour.
    pub(crate) fn set_standing(&mut self, model: &str, b: Behaviour) {
        self.entry(model).standing = Some(Arc::new(b));
    }

    /// Counts one request for `model` and, if `take` (nothing earlier in the
    /// precedence answered it), returns the model's next scripted behaviour:
    /// the sequence's front, else the standing one.
    pub(crate) fn step(&mut self, model: &str, take: bool) -> Option<Arc<Behaviour>> {
        let entry = match self.models.get_mut(model) {
            Some(entry) => entry,
            None => self.models.entry(model.to_owned()).or_default(),
        };
        entry.requests = entry.requests.saturating_add(1);
        if !take {
            return None;
        }
        entry
            .sequence
            .pop_front()
            .or_else(|| entry.standing.clone())
    }

    /// Requests counted for `model`.
    pub(crate) fn requests(&self, model: &str) -> u64 {
        self.models.get(model).map_or(0, |e| e.requests)
    }

    /// Scripted steps `model` has not used yet.
    pub(crate) fn remaining(&self, model: &str) -> usize {
        self.models.get(model).map_or(0, |e| e.sequence.len())
    }

    /// Drops every sequence and standing behaviour; counts stay.
    pub(crate) fn clear_scripts(&mut self) {
        for entry in self.models.values_mut() {
            entry.sequence.clear();
            entry.standing = None;
        }
    }

    /// Zeroes every count; scripts stay.
    pub(crate) fn clear_counts(&mut self) {
        for entry in self.models.values_mut() {
            entry.requests = 0;
        }
    }

    fn entry(&mut self, model: &str) -> &mut ModelEntry {
        self.models.entry(model.to_owned()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: Option<Arc<Behaviour>>) -> Option<u16> {
        s.and_then(|b| b.status)
    }

    #[test]
    fn sequence_then_standing_then_nothing() {
        let mut m = ModelScripts::default();
        m.set_standing("a", Behaviour::status(503));
        m.set_sequence("a", [Behaviour::status(429), Behaviour::ok()]);
        assert_eq!(m.remaining("a"), 2);
        assert_eq!(status(m.step("a", true)), Some(429));
        assert_eq!(m.step("a", true).map(|b| b.status), Some(None));
        assert_eq!(status(m.step("a", true)), Some(503));
        assert_eq!(m.step("b", true), None);
        assert_eq!((m.requests("a"), m.requests("b")), (3, 1));
    }

    #[test]
    fn a_request_answered_elsewhere_counts_but_takes_no_step() {
        let mut m = ModelScripts::default();
        m.set_sequence("a", [Behaviour::status(500)]);
        assert_eq!(m.step("a", false), None);
        assert_eq!((m.requests("a"), m.remaining("a")), (1, 1));
    }

    #[test]
    fn set_sequence_replaces_and_clears_keep_what_they_should() {
        let mut m = ModelScripts::default();
        m.set_sequence("a", [Behaviour::status(500), Behaviour::status(500)]);
        m.set_sequence("a", [Behaviour::status(429)]);
        assert_eq!(m.remaining("a"), 1);
        m.step("a", false);
        m.clear_scripts();
        assert_eq!((m.requests("a"), m.remaining("a")), (1, 0));
        m.clear_counts();
        assert_eq!(m.requests("a"), 0);
    }
}
