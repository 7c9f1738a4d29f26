"""Drives a running Portcullis gateway with the official OpenAI Python SDK.

Usage: python openai_sdk_smoke.py BASE_URL VIRTUAL_KEY MODEL [EMBEDDING_MODEL [TOOL_MODEL ...]]

Checks non-streaming and streaming chat completions, usage on request, that a wrong
key surfaces as the SDK's AuthenticationError, and (given an embedding model; `-` for none)
embeddings in the SDK's default encoding (base64, decoded by the SDK) against an explicit
float request. Then, for MODEL and every TOOL_MODEL (e.g. the demo's Bedrock-dialect model),
the tool-calling round trip: the mock calls the first offered tool, the result goes back as a
`tool` message, and the answer is text; streamed tool calls reassemble into JSON arguments.
Exits non-zero on the first failure.
"""

import json
import sys

import openai
from openai import OpenAI


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def tool_round_trip(client: OpenAI, model: str) -> None:
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    reply = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "Paris"}, call
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18C, sunny"})
    final = client.chat.completions.create(model=model, messages=messages)
    assert final.choices[0].message.content, final
    chunks = list(client.chat.completions.create(model=model, messages=messages[:1], tools=TOOLS, stream=True))
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
        for tc in c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"city": "Paris"}, arguments
    print(f"tool round trip ok on {model} (JSON and streamed)")


def main() -> None:
    base_url, key, model = sys.argv[1:4]
    embedding_model = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    tool_models = [model, *sys.argv[5:]]
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

    for tool_model in tool_models:
        tool_round_trip(client, tool_model)


if __name__ == "__main__":
    main()
