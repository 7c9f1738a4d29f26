"""Writes the canned answers nginx serves in loadtest/bench/neutral.sh: a 784-byte
chat.completion and a streamed answer of 24 content chunks, a finish chunk, a usage chunk and
[DONE] (about 7.2 KB), into the directory given."""
import json, os, sys

root = sys.argv[1]
words = ("Hello", " there", ",", " friend", ".", " Here", " is", " a", " short", " answer",
         " about", " the", " weather", " today", ":", " mild", ",", " dry", " and", " bright",
         " until", " late", " evening", ".")
created, ident, model = 1764547200, "chatcmpl-neutral0000000000000000000000", "gpt-4o-mini-2024-07-18"
usage = {"prompt_tokens": 27, "completion_tokens": 24, "total_tokens": 51,
         "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                       "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

completion = {"id": ident, "object": "chat.completion", "created": created, "model": model,
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(words),
                                                   "refusal": None, "annotations": []},
                           "logprobs": None, "finish_reason": "stop"}],
              "usage": usage, "service_tier": "default", "system_fingerprint": "fp_0000000000"}
text = json.dumps(completion, separators=(",", ":"))
text += " " * (784 - len(text.encode()))  # padded to the harness's 784 bytes (JSON allows it)
assert len(text.encode()) == 784, len(text.encode())

def chunk(delta, finish=None, with_usage=False):
    c = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
         "system_fingerprint": "fp_0000000000",
         "choices": [] if with_usage else [{"index": 0, "delta": delta, "logprobs": None,
                                            "finish_reason": finish}]}
    if with_usage:
        c["usage"] = usage
    return "data: " + json.dumps(c, separators=(",", ":")) + "\n\n"

events = [chunk({"role": "assistant", "content": words[0], "refusal": None})]
events += [chunk({"content": w}) for w in words[1:]]
events += [chunk({}, "stop"), chunk(None, with_usage=True), "data: [DONE]\n\n"]
sse = "".join(events)

for kind, body in (("json", text), ("sse", sse)):
    path = os.path.join(root, kind, "v1", "chat")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "completions"), "w") as f:
        f.write(body)
print(f"completion {len(text.encode())} bytes, stream {len(sse.encode())} bytes, {len(events)} events")
