//! A JSON reader that is stricter than serde_json's `Value`: duplicate object keys and
//! nesting beyond a cap are errors instead of "last one wins" and a fixed recursion limit.
//!
//! Duplicate keys matter at a security boundary: two parsers that disagree on which
//! duplicate wins (gateway vs provider) can be made to see different requests.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::RequestError;

/// Parses `bytes` as one JSON value, rejecting duplicate keys and depth over `max_depth`.
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, RequestError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Our own depth cap replaces serde_json's fixed one; it is checked before recursing.
    de.disable_recursion_limit();
    let seed = StrictSeed {
        depth: 0,
        max_depth,
    };
    let value = seed.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

/// Markers carried through serde's string errors so they can be told apart afterwards.
const DUPLICATE: &str = "\u{0}duplicate:";
const TOO_DEEP: &str = "\u{0}too_deep:";

fn classify(err: serde_json::Error) -> RequestError {
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix(DUPLICATE) {
        let key = rest.split(" at line ").next().unwrap_or(rest);
        return RequestError::DuplicateKey(truncate(key, 64));
    }
    if let Some(rest) = text.strip_prefix(TOO_DEEP) {
        let depth = rest
            .split(" at line ")
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        return RequestError::TooDeep(depth);
    }
    RequestError::InvalidJson(text)
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[derive(Clone, Copy)]
struct StrictSeed {
    depth: usize,
    max_depth: usize,
}

impl StrictSeed {
    fn nested<E: de::Error>(self) -> Result<StrictSeed, E> {
        let depth = self.depth + 1;
        if depth > self.max_depth {
            return Err(E::custom(format_args!("{TOO_DEEP}{}", self.max_depth)));
        }
        Ok(StrictSeed { depth, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE}{key}")));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_json() {
        let value = parse_strict(br#"{"a":[1,2.5,"x",null,true],"b":{"c":-3}}"#, 8).unwrap();
        assert_eq!(value["b"]["c"], -3);
        assert_eq!(value["a"][1], 2.5);
    }

    #[test]
    fn rejects_duplicate_top_level_key() {
        let err = parse_strict(br#"{"model":"a","model":"b"}"#, 8).unwrap_err();
        assert_eq!(err, RequestError::DuplicateKey("model".into()));
    }

    #[test]
    fn rejects_duplicate_nested_key() {
        let body = br#"{"messages":[{"role":"user","role":"system","content":"x"}]}"#;
        let err = parse_strict(body, 8).unwrap_err();
        assert_eq!(err, RequestError::DuplicateKey("role".into()));
    }

    #[test]
    fn rejects_nesting_beyond_cap_but_not_at_it() {
        let at_cap = format!("{}{}", "[".repeat(4), "]".repeat(4));
        assert!(parse_strict(at_cap.as_bytes(), 4).is_ok());
        let over = format!("{}{}", "[".repeat(5), "]".repeat(5));
        assert_eq!(
            parse_strict(over.as_bytes(), 4),
            Err(RequestError::TooDeep(4))
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_strict(body.as_bytes(), 64),
            Err(RequestError::TooDeep(64))
        );
    }

    #[test]
    fn rejects_trailing_garbage_and_broken_json() {
        assert!(matches!(
            parse_strict(b"{} x", 8),
            Err(RequestError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_strict(b"{\"a\":", 8),
            Err(RequestError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_strict(b"", 8),
            Err(RequestError::InvalidJson(_))
        ));
    }
}
