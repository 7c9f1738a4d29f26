//! The tool calls one answer makes, resolved against the request: names
//! filled in from the request's `tools`, arguments serialized once and cut
//! into the pieces a stream sends. Shared by both dialects.

use super::behaviour::{Behaviour, TOOL_ARGUMENT_PIECE, ToolCall};
use super::openai_wire::text_of;

/// One tool call, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedCall {
    pub id: String,
    pub name: String,
    /// The arguments as they were scripted (Anthropic `input`).
    pub input: serde_json::Value,
    /// The arguments serialized compactly (OpenAI `arguments`).
    pub arguments: String,
    /// Byte offsets where each streamed piece of `arguments` starts.
    starts: Vec<usize>,
}

impl PlannedCall {
    /// Pieces `arguments` is streamed in (at least one).
    pub(crate) fn piece_count(&self) -> usize {
        self.starts.len()
    }

    /// Streamed piece `i` of `arguments`.
    pub(crate) fn piece(&self, i: usize) -> &str {
        let start = self.starts.get(i).copied().unwrap_or(self.arguments.len());
        let end = self
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.arguments.len());
        self.arguments.get(start..end).unwrap_or("")
    }
}

/// The calls to make: none unless the request offers tools (`offered` holds
/// their names). Ids are `{id_prefix}{n}` for the n-th call.
pub(crate) fn plan(scripted: &[ToolCall], offered: &[String], id_prefix: &str) -> Vec<PlannedCall> {
    if offered.is_empty() {
        return Vec::new();
    }
    scripted
        .iter()
        .enumerate()
        .map(|(n, call)| {
            let name = call
                .name
                .clone()
                .or_else(|| offered.get(n % offered.len()).cloned())
                .unwrap_or_default();
            let arguments = serde_json::to_string(&call.arguments).unwrap_or_default();
            PlannedCall {
                id: format!("{id_prefix}{n}"),
                name,
                input: call.arguments.clone(),
                starts: piece_starts(&arguments),
                arguments,
            }
        })
        .collect()
}

/// The text of a JSON answer: one `tokN` per completion token, or beside
/// tool calls only the scripted text chunks (none: `None`).
pub(crate) fn json_text(
    b: &Behaviour,
    calls: &[PlannedCall],
    completion_tokens: u64,
) -> Option<String> {
    if calls.is_empty() {
        return Some(text_of(completion_tokens));
    }
    let chunks = b.chunk_count(true);
    (chunks > 0).then(|| text_of(u64::try_from(chunks).unwrap_or(u64::MAX)))
}

/// Offsets of pieces of at most [`TOOL_ARGUMENT_PIECE`] bytes, cut at char
/// boundaries (a char wider than a piece gets a piece of its own).
fn piece_starts(s: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if i > start && i + c.len_utf8() - start > TOOL_ARGUMENT_PIECE {
            starts.push(i);
            start = i;
        }
    }
    starts
}

/// Where content event `i` falls among the calls, when each call streams
/// `before` framing events, its argument pieces, then `after` framing events:
/// `(call's position, call, offset within that call's events)`.
pub(crate) fn locate(
    calls: &[PlannedCall],
    mut i: usize,
    before: usize,
    after: usize,
) -> Option<(usize, &PlannedCall, usize)> {
    for (n, call) in calls.iter().enumerate() {
        let len = before + call.piece_count() + after;
        if i < len {
            return Some((n, call, i));
        }
        i -= len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: Option<&str>, arguments: serde_json::Value) -> ToolCall {
        ToolCall {
            name: name.map(str::to_owned),
            arguments,
        }
    }

    #[test]
    fn no_offered_tools_means_no_calls() {
        assert!(plan(&[call(Some("f"), json!({}))], &[], "c").is_empty());
    }

    #[test]
    fn names_come_from_the_request_when_not_scripted() {
        let offered = ["a".to_owned(), "b".to_owned()];
        let calls = plan(
            &[
                call(None, json!(1)),
                call(None, json!(2)),
                call(None, json!(3)),
                call(Some("z"), json!(4)),
            ],
            &offered,
            "call_",
        );
        let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a", "z"]);
        assert_eq!(calls[3].id, "call_3");
    }

    #[test]
    fn pieces_rejoin_to_the_arguments_and_respect_the_limit() {
        let args = json!({"city": "Zürich, Genève et Neuchâtel", "days": [1, 2, 3]});
        let calls = plan(&[call(Some("f"), args.clone())], &["f".to_owned()], "c");
        let c = &calls[0];
        assert!(c.piece_count() > 2);
        let joined: String = (0..c.piece_count()).map(|i| c.piece(i)).collect();
        assert_eq!(joined, c.arguments);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&joined).unwrap(),
            args
        );
        assert!((0..c.piece_count()).all(|i| !c.piece(i).is_empty()));
        assert!((0..c.piece_count()).all(|i| c.piece(i).len() <= TOOL_ARGUMENT_PIECE));
    }

    #[test]
    fn locate_walks_calls_with_their_framing() {
        let offered = ["f".to_owned()];
        let calls = plan(&[call(None, json!(1)), call(None, json!(2))], &offered, "c");
        // Each call: 1 framing + 1 piece + 1 framing = 3 events.
        assert_eq!(
            locate(&calls, 0, 1, 1).map(|(n, c, o)| (n, c.id.as_str(), o)),
            Some((0, "c0", 0))
        );
        assert_eq!(
            locate(&calls, 4, 1, 1).map(|(n, c, o)| (n, c.id.as_str(), o)),
            Some((1, "c1", 1))
        );
        assert!(locate(&calls, 6, 1, 1).is_none());
    }
}
