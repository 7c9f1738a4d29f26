use super::*;

fn decode_all(bytes: &[u8], cap: usize, split: usize) -> Result<Vec<Frame>, StreamError> {
    let mut decoder = Decoder::new(cap);
    let mut frames = Vec::new();
    let (a, b) = bytes.split_at(split);
    decoder.push(a, |f| {
        frames.push(f);
        Ok(())
    })?;
    decoder.push(b, |f| {
        frames.push(f);
        Ok(())
    })?;
    assert!(!decoder.has_partial());
    Ok(frames)
}

#[test]
fn the_empty_message_of_the_aws_event_stream_vectors_decodes() {
    // aws-c-event-stream's `empty_message` encoded test vector.
    let empty = [
        0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8,
        0xff,
    ];
    assert_eq!(encode(&[], b""), empty);
    let frames = decode_all(&empty, 1024, 0).unwrap();
    assert_eq!(frames, vec![Frame::default()]);
}

#[test]
fn frames_decode_identically_at_every_split() {
    let mut stream = event_frame("messageStart", br#"{"role":"assistant"}"#);
    stream.extend(event_frame(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    ));
    stream.extend(encode(&[], b""));
    let whole = decode_all(&stream, 1 << 16, 0).unwrap();
    assert_eq!(whole.len(), 3);
    assert_eq!(whole[0].header(":event-type"), Some("messageStart"));
    assert_eq!(whole[1].header(":message-type"), Some("event"));
    assert_eq!(
        whole[1].payload,
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#
    );
    for at in 0..=stream.len() {
        assert_eq!(
            decode_all(&stream, 1 << 16, at).unwrap(),
            whole,
            "split at {at}"
        );
    }
}

#[test]
fn byte_by_byte_feeding_gives_the_same_frames() {
    let stream = event_frame("messageStop", br#"{"stopReason":"end_turn"}"#);
    let mut decoder = Decoder::new(1 << 16);
    let mut frames = Vec::new();
    for b in &stream {
        decoder
            .push(std::slice::from_ref(b), |f| {
                frames.push(f);
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(frames.len(), 1);
    assert_eq!(decoder.frames(), 1);
}

#[test]
fn non_string_headers_are_skipped_by_their_size() {
    let mut section = Vec::new();
    let mut header = |name: &str, kind: u8, value: &[u8]| {
        section.push(name.len() as u8);
        section.extend_from_slice(name.as_bytes());
        section.push(kind);
        section.extend_from_slice(value);
    };
    header("t", 0, &[]);
    header("b", 2, &[7]);
    header("s", 3, &[0, 1]);
    header("i", 4, &[0, 0, 0, 1]);
    header("l", 5, &[0; 8]);
    header("a", 6, &[0, 3, 1, 2, 3]);
    header("ts", 8, &[0; 8]);
    header("u", 9, &[0; 16]);
    header(":event-type", 7, b"\x00\x08metadata");
    let total = 16 + section.len() + 2;
    let mut frame = (total as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&(section.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&frame).to_be_bytes());
    frame.extend_from_slice(&section);
    frame.extend_from_slice(b"{}");
    frame.extend_from_slice(&crc32fast::hash(&frame).to_be_bytes());
    let frames = decode_all(&frame, 1 << 16, 5).unwrap();
    assert_eq!(
        frames[0].headers,
        vec![(":event-type".into(), "metadata".into())]
    );
    assert_eq!(frames[0].payload, b"{}");
}

#[test]
fn a_bad_prelude_crc_is_refused() {
    let mut frame = event_frame("messageStart", b"{}");
    frame[9] ^= 0xff;
    assert_eq!(decode_all(&frame, 1 << 16, 0), Err(StreamError::Malformed));
}

#[test]
fn a_bad_message_crc_is_refused() {
    let mut frame = event_frame("messageStart", br#"{"role":"assistant"}"#);
    let payload_byte = frame.len() - 6;
    frame[payload_byte] ^= 0x01;
    assert_eq!(decode_all(&frame, 1 << 16, 0), Err(StreamError::Malformed));
    let mut frame = event_frame("messageStart", b"{}");
    let last = frame.len() - 1;
    frame[last] ^= 0x01;
    assert_eq!(decode_all(&frame, 1 << 16, 0), Err(StreamError::Malformed));
}

#[test]
fn an_oversize_length_is_refused_from_its_first_four_bytes() {
    let frame = event_frame("contentBlockDelta", &[b'x'; 2048]);
    let mut decoder = Decoder::new(1024);
    let result = decoder.push(&frame[..4], |_| Ok(()));
    assert_eq!(result, Err(StreamError::EventTooLarge(1024)));
    // A lying length with a valid prelude CRC is refused the same way.
    let mut lie = (u32::MAX).to_be_bytes().to_vec();
    lie.extend_from_slice(&0u32.to_be_bytes());
    lie.extend_from_slice(&crc32fast::hash(&lie.clone()).to_be_bytes());
    assert_eq!(
        decode_all(&lie, 1 << 20, 0),
        Err(StreamError::EventTooLarge(1 << 20))
    );
}

#[test]
fn impossible_lengths_and_overrunning_headers_are_malformed() {
    let mut short = 8u32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0; 8]);
    assert_eq!(decode_all(&short, 1024, 0), Err(StreamError::Malformed));

    let mut frame = 20u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&9u32.to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&frame.clone()).to_be_bytes());
    frame.extend_from_slice(&[0; 8]);
    assert_eq!(decode_all(&frame, 1024, 0), Err(StreamError::Malformed));

    // A string header claiming more bytes than its section holds.
    let mut section = vec![1, b'x', 7, 0, 200];
    section.extend_from_slice(b"ab");
    let total = 16 + section.len();
    let mut frame = (total as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&(section.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&frame.clone()).to_be_bytes());
    frame.extend_from_slice(&section);
    frame.extend_from_slice(&crc32fast::hash(&frame.clone()).to_be_bytes());
    assert_eq!(decode_all(&frame, 1024, 0), Err(StreamError::Malformed));
}
