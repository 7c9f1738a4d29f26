"""Drives a running Portcullis gateway with the official OpenAI Python SDK.

Usage: python openai_sdk_smoke.py BASE_URL VIRTUAL_KEY MODEL [EMBEDDING_MODEL]

Checks non-streaming and streaming chat completions, usage on request, that a wrong
key surfaces as the SDK's AuthenticationError, and (given an embedding model) embeddings in
the SDK's default encoding (base64, decoded by the SDK) against an explicit float request.
Exits non-zero on the first failure.
"""

import sys

import openai
from openai import OpenAI


def main() -> None:
    base_url, key, model = sys.argv[1:4]
    embedding_model = sys.argv[4] if len(sys.argv) > 4 else None
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]

    reply = client.chat.completions.create(model=model, messages=messages)
    assert reply.choices[0].message.content, reply
    assert reply.usage and reply.usage.completion_tokens > 0, reply.usage
    print(f"non-streaming ok: {reply.usage.completion_tokens} completion tokens")

    chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text, chunks
    assert all(c.usage is None for c in chunks), "usage chunk sent although not asked for"
    print(f"streaming ok: {len(chunks)} chunks, no usage chunk")

    chunks = list(
        client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage and usage[-1].completion_tokens > 0, chunks[-2:]
    print(f"streaming with usage ok: {usage[-1].completion_tokens} completion tokens")

    if embedding_model:
        inputs = ["The quick brown fox", "jumps over the lazy dog"]
        # The SDK asks for base64 unless told otherwise and decodes it to floats itself.
        default = client.embeddings.create(model=embedding_model, input=inputs)
        floats = client.embeddings.create(
            model=embedding_model, input=inputs, encoding_format="float"
        )
        assert len(default.data) == 2 and [d.index for d in default.data] == [0, 1], default
        for a, b in zip(default.data, floats.data):
            assert a.embedding and len(a.embedding) == len(b.embedding), (a, b)
            assert all(abs(x - y) < 1e-6 for x, y in zip(a.embedding, b.embedding)), (a, b)
        assert default.usage.prompt_tokens > 0, default.usage
        single = client.embeddings.create(model=embedding_model, input="hello")
        assert len(single.data) == 1, single
        print(
            f"embeddings ok: {len(default.data)} vectors of {len(default.data[0].embedding)},"
            f" base64 == float, {default.usage.prompt_tokens} prompt tokens"
        )

    models = [m.id for m in client.models.list()]
    assert model in models, models
    print(f"models ok: {models}")

    try:
        OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0).chat.completions.create(
            model=model, messages=messages
        )
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError as err:
        print(f"wrong key ok: {err.status_code} {err.body['type'] if isinstance(err.body, dict) else ''}")

    try:
        client.chat.completions.create(model=model, messages=messages, extra_body={"api_base": "http://169.254.169.254"})
        raise AssertionError("an api_base override was accepted")
    except openai.BadRequestError as err:
        print(f"override refused ok: {err.status_code}")


if __name__ == "__main__":
    main()
