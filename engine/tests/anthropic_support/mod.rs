//! Shared helpers for the Anthropic golden-fixture tests: fixture files, golden comparison,
//! and the split-at-every-offset harness for the stream translators.

use std::path::PathBuf;

use bytes::Bytes;
use portcullis_engine::provider::anthropic::StreamError;

pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/anthropic")
        .join(name)
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub(crate) fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Compares `actual` with the golden file byte for byte. With `PORTCULLIS_BLESS=1` a missing
/// golden file is written instead (to be reviewed by hand before committing).
pub(crate) fn golden(name: &str, actual: &[u8]) {
    let p = path(name);
    if !p.exists() && std::env::var("PORTCULLIS_BLESS").as_deref() == Ok("1") {
        std::fs::write(&p, actual).unwrap();
        return;
    }
    let want = fixture(name);
    assert!(
        want == actual,
        "{name} differs.\n--- want\n{}\n--- got\n{}",
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(actual)
    );
}

/// Compares JSON `actual` with a golden JSON file (pretty-printed on disk).
pub(crate) fn golden_json(name: &str, actual: &[u8]) {
    let value: serde_json::Value = serde_json::from_slice(actual).unwrap();
    let mut pretty = serde_json::to_vec_pretty(&value).unwrap();
    pretty.push(b'\n');
    let p = path(name);
    if !p.exists() && std::env::var("PORTCULLIS_BLESS").as_deref() == Ok("1") {
        std::fs::write(&p, &pretty).unwrap();
        return;
    }
    assert_eq!(
        json(name),
        value,
        "{name} differs:\n{}",
        String::from_utf8_lossy(&pretty)
    );
}

pub(crate) fn crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() * 2);
    for &b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// A stream translator under test.
pub(crate) trait Translate {
    fn push(&mut self, bytes: &[u8]) -> Result<Bytes, StreamError>;
    fn finish(&mut self) -> Result<(), StreamError>;
}

/// Everything a translator emits for `parts`, and the error it ends with, if any.
pub(crate) fn run<T: Translate>(t: &mut T, parts: &[&[u8]]) -> (Vec<u8>, Option<StreamError>) {
    let mut out = Vec::new();
    for part in parts {
        match t.push(part) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, t.finish().err())
}

/// Feeds `input` whole, split at every byte offset, and one byte at a time, with LF and
/// with CRLF line ends; asserts every run gives the same output and error; returns it.
pub(crate) fn every_split<T: Translate>(
    make: impl Fn() -> T,
    input: &[u8],
) -> (Vec<u8>, Option<StreamError>) {
    let whole = run(&mut make(), &[input]);
    for variant in [input.to_vec(), crlf(input)] {
        let v = &variant[..];
        assert_eq!(
            run(&mut make(), &[v]),
            whole,
            "whole, crlf={}",
            v.len() != input.len()
        );
        for cut in 0..=v.len() {
            assert_eq!(
                run(&mut make(), &[&v[..cut], &v[cut..]]),
                whole,
                "split at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = v.chunks(1).collect();
        assert_eq!(run(&mut make(), &bytes), whole, "one byte at a time");
        let threes: Vec<&[u8]> = v.chunks(3).collect();
        assert_eq!(run(&mut make(), &threes), whole, "three bytes at a time");
    }
    whole
}
