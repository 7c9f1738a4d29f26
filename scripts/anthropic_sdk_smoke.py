"""Drives a running Portcullis gateway with the official Anthropic Python SDK on /v1/messages,
and the official OpenAI SDK's tool-calling round trip against an Anthropic-dialect upstream.

Usage: python anthropic_sdk_smoke.py GATEWAY_URL VIRTUAL_KEY OPENAI_MODEL ANTHROPIC_MODEL

GATEWAY_URL is the gateway root (the Anthropic SDK adds /v1/messages itself). OPENAI_MODEL
is served by an OpenAI-dialect provider, ANTHROPIC_MODEL by an Anthropic-dialect one; the
Anthropic SDK is run against both. The upstream must answer a request that offers tools with
a call to one of them (`portcullis demo`'s mock does). Exits non-zero on the first failure.
"""

import json
import sys

import anthropic
import openai

TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def anthropic_checks(client: anthropic.Anthropic, model: str) -> None:
    reply = client.messages.create(model=model, max_tokens=256, messages=ASK)
    assert reply.type == "message" and reply.content, reply
    assert reply.content[0].type == "text" and reply.content[0].text, reply.content
    assert reply.usage.output_tokens > 0, reply.usage
    print(f"[{model}] create ok: {reply.stop_reason}, {reply.usage.output_tokens} output tokens")

    with client.messages.stream(model=model, max_tokens=256, messages=ASK) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text, (text, final)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0, final
    print(f"[{model}] stream ok: {len(text)} chars, get_final_message agrees")

    reply = client.messages.create(model=model, max_tokens=256, messages=ASK, tools=TOOLS)
    calls = [b for b in reply.content if b.type == "tool_use"]
    assert reply.stop_reason == "tool_use" and calls, reply
    assert calls[0].name == "get_weather" and isinstance(calls[0].input, dict), calls
    print(f"[{model}] tools ok: {calls[0].name}({json.dumps(calls[0].input)})")

    with client.messages.stream(model=model, max_tokens=256, messages=ASK, tools=TOOLS) as stream:
        final = stream.get_final_message()
    streamed = [b for b in final.content if b.type == "tool_use"]
    assert final.stop_reason == "tool_use" and streamed, final
    assert streamed[0].input == calls[0].input, (streamed, calls)
    print(f"[{model}] tools stream ok: {streamed[0].name}({json.dumps(streamed[0].input)})")

    follow_up = ASK + [
        {"role": "assistant", "content": [c.model_dump() for c in calls]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": calls[0].id, "content": "sunny"}],
        },
    ]
    reply = client.messages.create(model=model, max_tokens=256, messages=follow_up)
    assert reply.content and reply.content[0].type == "text", reply
    print(f"[{model}] tool result round trip ok: {reply.stop_reason}")


def main() -> None:
    root, key, openai_model, anthropic_model = sys.argv[1:5]
    client = anthropic.Anthropic(base_url=root, api_key=key, max_retries=0)
    for model in (openai_model, anthropic_model):
        anthropic_checks(client, model)

    try:
        anthropic.Anthropic(base_url=root, api_key="sk-wrong", max_retries=0).messages.create(
            model=anthropic_model, max_tokens=16, messages=ASK
        )
        raise AssertionError("a wrong key was accepted")
    except anthropic.AuthenticationError as err:
        print(f"wrong key ok: {err.status_code} {err.body}")

    # The OpenAI SDK's tool-calling round trip, served by the Anthropic-dialect upstream.
    oai = openai.OpenAI(base_url=root.rstrip("/") + "/v1", api_key=key, max_retries=0)
    tools = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                               "parameters": t["input_schema"]}} for t in TOOLS]
    reply = oai.chat.completions.create(model=anthropic_model, messages=ASK, tools=tools)
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "tool_calls" and message.tool_calls, reply
    call = message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments), call
    chunks = list(oai.chat.completions.create(model=anthropic_model, messages=ASK, tools=tools,
                                              stream=True))
    streamed = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert streamed and streamed[0].id and streamed[0].function.name == "get_weather", chunks
    follow_up = ASK + [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    reply = oai.chat.completions.create(model=anthropic_model, messages=follow_up)
    assert reply.choices[0].message.content, reply
    print(f"openai sdk tool round trip via anthropic ok: {call.function.name}, then "
          f"{reply.choices[0].finish_reason}")


if __name__ == "__main__":
    main()
