"""The official OpenAI Python SDK's tool-calling round trip through a running Portcullis gateway.

Usage: python openai_sdk_tools_smoke.py BASE_URL VIRTUAL_KEY MODEL [MODEL ...]

For every MODEL (e.g. the demo's Gemini-dialect `demo-gemini`, whose upstream is the demo's
mock speaking Gemini's generateContent): the mock calls the first offered tool; the SDK's
own message object goes back with a `tool` result and the answer is text; parallel tool
calls are not asked for. Streamed, the tool call's argument fragments reassemble into the
same JSON. Exits non-zero on the first failure.
"""

import json
import sys

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


def round_trip(client: OpenAI, model: str) -> None:
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    reply = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "Paris"}, call
    assert call.id, call
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18C, sunny"})
    final = client.chat.completions.create(model=model, messages=messages, tools=TOOLS,
                                           tool_choice="none")
    assert final.choices[0].message.content, final
    assert final.choices[0].finish_reason == "stop", final

    chunks = list(
        client.chat.completions.create(model=model, messages=messages[:1], tools=TOOLS, stream=True)
    )
    deltas = [
        tc
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
        for tc in c.choices[0].delta.tool_calls
    ]
    assert deltas and deltas[0].function.name == "get_weather", chunks
    arguments = "".join(tc.function.arguments or "" for tc in deltas)
    assert json.loads(arguments) == {"city": "Paris"}, arguments
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"], finish
    print(f"tool round trip ok on {model} (JSON and streamed)")


def main() -> None:
    base_url, key, *models = sys.argv[1:]
    assert models, __doc__
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0)
    for model in models:
        round_trip(client, model)


if __name__ == "__main__":
    main()
