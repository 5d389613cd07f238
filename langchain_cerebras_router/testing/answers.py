"""Deterministic, honest answers: text, tool calls, JSON from schemas, and reasoning.

The same request always gets the same answer. Text is generated from a seed that hashes the
conversation; tool calls name a bound tool and carry arguments that validate against its
schema; JSON validates against the requested schema. Tokens are counted roughly (a word piece
of up to eight characters, or one punctuation mark, with its leading whitespace), and the same
tokenizer splits answers into stream chunks, so ``completion_tokens`` equals the number of
content chunks of a plain-text stream.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_cerebras_router.testing.catalog import ModelSpec, Provider
from langchain_cerebras_router.testing.schema_values import (
    TextFacts,
    quoted_strings,
    value_for_schema,
)

_TOKEN_RE: Final = re.compile(r"\s*(?:\w{1,8}|[^\w\s])|\s+")
_REPEAT_RE: Final = re.compile(
    r"\b(say|repeat|respond with|reply with|answer with|echo|print|output|write|type)\b", re.I
)
_ONLY_RE: Final = re.compile(r"\b(only|nothing else|exactly|just)\b", re.I)
_KEY_RE: Final = re.compile(r"^[A-Za-z_][\w -]{0,39}$")

#: Plain sentences that deterministic answers are made of (they read like a reply).
_SENTENCES: Final = (
    "Thanks for your message.",
    "Here is a short, deterministic answer.",
    "Fast inference makes long answers feel instant.",
    "Each token of this reply arrives in its own stream chunk.",
    "The same prompt always produces the same words.",
    "Wafer-scale chips keep whole models in on-chip memory.",
    "Streaming shows the first words while the rest is generated.",
    "A router can switch providers before the first token arrives.",
    "Rate limits are reported in the response headers.",
    "Usage counts include prompt, completion and cached tokens.",
    "Tool calls arrive whole, with arguments that match their schema.",
    "Structured output follows the JSON schema you send.",
    "Retries belong to the caller that knows the alternatives.",
    "Time to first token matters as much as tokens per second.",
    "Short prompts get quick and tidy answers.",
    "Long answers are made of many small sentences like this one.",
    "Every response reports how long the server spent on it.",
    "Reasoning models think briefly before they answer.",
    "Cached prompt prefixes are counted in blocks of tokens.",
    "Errors come back in the shape each provider uses.",
    "Benchmarks measure latency, throughput and failover time.",
    "Nothing here leaves your machine.",
    "You can inject faults to see how your app copes.",
    "This reply comes from a local emulator of the API.",
)

#: Message roles after which a bound tool gets called (tool results are answered in text).
_CALLING_ROLES: Final = frozenset({"user", "system", "developer"})


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens whose concatenation is ``text``."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """Rough token count of ``text`` (about four characters of English per token)."""
    return len(_TOKEN_RE.findall(text))


_SENTENCE_TOKENS: Final = tuple(tuple(tokenize(sentence)) for sentence in _SENTENCES)
_FOLLOWING_SENTENCE_TOKENS: Final = tuple(tuple(tokenize(" " + s)) for s in _SENTENCES)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that is the same in every process (unlike ``hash()``)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return int.from_bytes(digest.digest(), "big")


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message's ``content`` (a string or a list of text parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "input_text")
        ]
        return "\n".join(texts)
    return ""


def prompt_tokens(body: Mapping[str, Any]) -> list[str]:
    """Tokens of the prompt as the model would see it: tools, schema, then each message."""
    tokens: list[str] = []
    tools = body.get("tools")
    if tools:
        tokens.extend(tokenize(json.dumps(tools, sort_keys=True, ensure_ascii=False)))
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        tokens.extend(tokenize(json.dumps(response_format, sort_keys=True, ensure_ascii=False)))
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, Mapping):
                continue
            tokens.append(f"<|{message.get('role')}|>")
            tokens.extend(tokenize(message_text(message)))
            calls = message.get("tool_calls")
            if calls:
                tokens.extend(tokenize(json.dumps(calls, sort_keys=True, ensure_ascii=False)))
            tokens.append("<|end|>")
    if isinstance(body.get("prompt"), str):
        tokens.extend(tokenize(body["prompt"]))
    return tokens


class PrefixCache:
    """Remembers prompt prefixes in blocks of 128 tokens, like a server-side prompt cache.

    Example:
        ```python
        from langchain_cerebras_router.testing.answers import PrefixCache

        cache = PrefixCache()
        tokens = ["tok"] * 300
        assert cache.cached_tokens("model", tokens) == 0
        assert cache.cached_tokens("model", tokens) == 256
        ```
    """

    BLOCK: Final = 128

    def __init__(self, max_blocks: int = 200_000) -> None:
        """Hold up to ``max_blocks`` block hashes (least recently used are forgotten)."""
        self._blocks: OrderedDict[bytes, None] = OrderedDict()
        self._max = max_blocks
        self._lock = threading.Lock()

    def cached_tokens(self, scope: str, tokens: Sequence[str]) -> int:
        """Tokens of ``tokens`` already seen as a prefix in ``scope``; then remember them."""
        usable = (len(tokens) - 1) // self.BLOCK
        if usable <= 0:
            return 0
        hashes: list[bytes] = []
        previous = scope.encode()
        for index in range(usable):
            block = "\x00".join(tokens[index * self.BLOCK : (index + 1) * self.BLOCK])
            previous = hashlib.blake2b(previous + block.encode("utf-8", "surrogatepass")).digest()
            hashes.append(previous)
        hits = 0
        with self._lock:
            for digest in hashes:
                if digest not in self._blocks:
                    break
                hits += 1
            for digest in hashes:
                self._blocks[digest] = None
                self._blocks.move_to_end(digest)
            while len(self._blocks) > self._max:
                self._blocks.popitem(last=False)
        return hits * self.BLOCK

    def clear(self) -> None:
        """Forget every prefix."""
        with self._lock:
            self._blocks.clear()


@dataclass(frozen=True)
class ToolCallAnswer:
    """One tool call of an answer; ``arguments`` is the JSON string sent on the wire."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """What the model says, already split into tokens (one stream chunk per token)."""

    reasoning: tuple[str, ...]
    content: tuple[str, ...]
    tool_calls: tuple[ToolCallAnswer, ...]
    finish_reason: str
    completion_tokens: int
    reasoning_tokens: int

    @property
    def content_text(self) -> str:
        """The content as one string."""
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        """The visible reasoning as one string."""
        return "".join(self.reasoning)


def filler_tokens(seed: int, count: int) -> list[str]:
    """``count`` tokens of deterministic prose (whole sentences, cut to length, ending in ".")."""
    rng = random.Random(seed)
    tokens: list[str] = []
    previous = -1
    while len(tokens) < count:
        index = rng.randrange(len(_SENTENCES))
        if index == previous:
            index = (index + 1) % len(_SENTENCES)
        previous = index
        tokens.extend(_FOLLOWING_SENTENCE_TOKENS[index] if tokens else _SENTENCE_TOKENS[index])
    del tokens[count:]
    if count >= 2 and tokens[-1] != ".":
        tokens[-1] = "."
    return tokens


def _sentence(seed: int) -> str:
    return _SENTENCES[random.Random(seed).randrange(len(_SENTENCES))]


def _reasoning_mode(body: Mapping[str, Any], spec: ModelSpec, provider: Provider) -> str:
    """``parsed``, ``raw``, ``hidden`` or ``off`` for this request."""
    if not spec.reasoning:
        return "off"
    if body.get("disable_reasoning") is True or body.get("reasoning_effort") == "none":
        return "off"
    if provider == "groq" and body.get("include_reasoning") is False:
        return "hidden"
    fmt = body.get("reasoning_format")
    if fmt == "hidden":
        return "hidden"
    if fmt == "raw":
        return "raw"
    return "parsed"


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1]) if messages else ""


def _snippet(text: str, limit: int = 16) -> str:
    tokens = tokenize(" ".join(text.split()))
    snippet = "".join(tokens[:limit]).strip()
    return snippet + ("..." if len(tokens) > limit else "")


def _forced_tool(tool_choice: Any, tools: Sequence[Mapping[str, Any]]) -> str | None:
    """The tool a ``tool_choice`` forces (``"*"`` for any), else ``None``."""
    if tool_choice == "required":
        return "*"
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None


def _tool_name(tool: Mapping[str, Any]) -> str:
    function = tool.get("function")
    return str(function.get("name", "")) if isinstance(function, Mapping) else ""


def _tool_parameters(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    function = tool.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("parameters"), Mapping):
        return function["parameters"]  # type: ignore[no-any-return]
    return {"type": "object", "properties": {}}


class AnswerBuilder:
    """Builds the :class:`Answer` to one chat request (pure: no clock, no I/O).

    Example:
        ```python
        from langchain_cerebras_router.testing import DEFAULT_MODELS
        from langchain_cerebras_router.testing.answers import AnswerBuilder

        spec = DEFAULT_MODELS[1]  # llama3.1-8b
        body = {"model": spec.id, "messages": [{"role": "user", "content": "Hi"}]}
        answer = AnswerBuilder(body, spec, "cerebras", answer_tokens=12).build()
        assert len(answer.content) == 12 and answer.finish_reason == "stop"
        ```
    """

    def __init__(
        self, body: Mapping[str, Any], spec: ModelSpec, provider: Provider, answer_tokens: int
    ) -> None:
        """Bind the validated request body, the model and the plain-answer length."""
        self._body = body
        self._spec = spec
        self._provider = provider
        self._answer_tokens = max(1, answer_tokens)
        self._messages: list[Mapping[str, Any]] = [
            message for message in body.get("messages") or [] if isinstance(message, Mapping)
        ]
        canonical = json.dumps(self._messages, sort_keys=True, ensure_ascii=False, default=str)
        self._seed = stable_hash(spec.id, canonical, body.get("seed"))
        self._user_text = _last_user_text(self._messages)

    def _filler(self, path: str) -> str:
        return _sentence(stable_hash(self._seed, path))

    # ------------------------------------------------------------------ decisions
    def build(self) -> Answer:
        """Decide between a tool call, JSON and text, then apply stop and token limits."""
        tools = [tool for tool in self._body.get("tools") or [] if isinstance(tool, Mapping)]
        tool_choice = self._body.get("tool_choice")
        forced = _forced_tool(tool_choice, tools)
        last_role = self._messages[-1].get("role") if self._messages else "user"
        if tools and tool_choice != "none" and (forced or last_role in _CALLING_ROLES):
            calls = self._tool_calls(tools, forced)
            reasoning = (
                f'The user asks: "{_snippet(self._user_text)}". The {calls[0].name} tool can '
                "answer this, so I will call it with arguments taken from the request."
            )
            return self._finish(reasoning, [], calls)
        response_format = self._body.get("response_format")
        if isinstance(response_format, Mapping) and response_format.get("type") in (
            "json_schema",
            "json_object",
        ):
            text = json.dumps(self._json_value(response_format), ensure_ascii=False)
            reasoning = (
                f'The user asks: "{_snippet(self._user_text)}". I will reply with JSON in the '
                "requested format."
            )
            return self._finish(reasoning, self._apply_stop(tokenize(text)), [])
        reasoning = f'The user says: "{_snippet(self._user_text)}". I will answer directly.'
        return self._finish(reasoning, self._apply_stop(self._text_tokens(last_role)), [])

    def _text_tokens(self, last_role: Any) -> list[str]:
        if last_role == "tool":
            return tokenize(self._tool_result_text())
        quoted = quoted_strings(self._user_text)
        if quoted and _REPEAT_RE.search(self._user_text):
            phrase = tokenize(quoted[0])
            if _ONLY_RE.search(self._user_text):
                return phrase
            rest = filler_tokens(self._seed, max(1, self._answer_tokens - len(phrase) - 1))
            return [*phrase, ".", f" {rest[0]}", *rest[1:]]
        return filler_tokens(self._seed, self._answer_tokens)

    def _tool_result_text(self) -> str:
        names: dict[str, str] = {}
        for message in self._messages:
            for call in message.get("tool_calls") or []:
                if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                    names[str(call.get("id"))] = str(call["function"].get("name", "tool"))
        results: list[str] = []
        for message in reversed(self._messages):
            if message.get("role") != "tool":
                break
            name = names.get(str(message.get("tool_call_id")), "tool")
            result = " ".join(message_text(message).split())
            result = result if len(result) <= 200 else result[:197] + "..."
            results.append(f"The {name} tool returned {result or 'nothing'}.")
        results.reverse()
        return " ".join([*results, "That answers your question."])

    def _tool_calls(
        self, tools: Sequence[Mapping[str, Any]], forced: str | None
    ) -> list[ToolCallAnswer]:
        chosen: list[Mapping[str, Any]] = []
        if forced and forced != "*":
            chosen = [tool for tool in tools if _tool_name(tool) == forced][:1]
        if not chosen:
            chosen = self._named_tools(tools, self._user_text)
            if not chosen:
                conversation = "\n".join(message_text(message) for message in self._messages)
                chosen = self._named_tools(tools, conversation)[:1]
            if not chosen:
                chosen = [tools[0]]
            if self._body.get("parallel_tool_calls") is False:
                chosen = chosen[:1]
        calls: list[ToolCallAnswer] = []
        for tool in chosen:
            facts = TextFacts(self._user_text, self._filler)
            arguments = value_for_schema(_tool_parameters(tool), facts)
            encoded = json.dumps(arguments, ensure_ascii=False)
            calls.append(ToolCallAnswer(_tool_name(tool), encoded))
        return calls

    @staticmethod
    def _named_tools(tools: Sequence[Mapping[str, Any]], text: str) -> list[Mapping[str, Any]]:
        found: list[tuple[int, int, Mapping[str, Any]]] = []
        for order, tool in enumerate(tools):
            name = _tool_name(tool)
            match = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) if name else None
            if match:
                found.append((match.start(), order, tool))
        return [tool for _, _, tool in sorted(found, key=lambda item: (item[0], item[1]))]

    def _json_value(self, response_format: Mapping[str, Any]) -> Any:
        facts = TextFacts(self._user_text, self._filler)
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, Mapping) else None
            if isinstance(schema, Mapping):
                return value_for_schema(schema, facts)
            return {"answer": self._filler("answer")}
        keys = [key for key in quoted_strings(self._user_text) if _KEY_RE.match(key)]
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {"answer": self._filler("answer")}
        return {key: self._filler(key) for key in keys}

    # ------------------------------------------------------------------ limits
    def _apply_stop(self, tokens: list[str]) -> list[str]:
        stop = self._body.get("stop")
        stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
        stops = [s for s in stops if s]
        if not stops:
            return tokens
        text = "".join(tokens)
        cut = min((index for s in stops if (index := text.find(s)) >= 0), default=-1)
        if cut < 0:
            return tokens
        kept: list[str] = []
        used = 0
        for token in tokens:
            if used + len(token) <= cut:
                kept.append(token)
                used += len(token)
                continue
            if cut > used:
                kept.append(token[: cut - used])
            break
        return kept

    def _budget(self) -> int | None:
        for key in ("max_completion_tokens", "max_tokens"):
            value = self._body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    def _finish(
        self, reasoning_text: str, content: list[str], calls: Iterable[ToolCallAnswer]
    ) -> Answer:
        mode = _reasoning_mode(self._body, self._spec, self._provider)
        reasoning = tokenize(reasoning_text) if mode != "off" else []
        budget = self._budget()
        calls = list(calls)
        finish = "tool_calls" if calls else "stop"
        if budget is not None and len(reasoning) >= budget:
            reasoning, content, calls, finish = reasoning[:budget], [], [], "length"
        remaining = None if budget is None else budget - len(reasoning)
        call_tokens = sum(count_tokens(call.name) + count_tokens(call.arguments) for call in calls)
        if remaining is not None and calls and call_tokens > remaining:
            calls, call_tokens, finish = [], 0, "length"
        if remaining is not None and mode == "raw" and reasoning:
            remaining = max(0, remaining - 3)
        if remaining is not None and len(content) > remaining:
            content, finish = content[:remaining], "length"
        reasoning_count = len(reasoning)
        if mode == "raw" and reasoning:
            content = ["<think>", *reasoning, "</think>", "\n\n", *content]
        completion = len(content) + call_tokens + (0 if mode == "raw" else reasoning_count)
        visible = tuple(reasoning) if mode == "parsed" else ()
        return Answer(
            reasoning=visible,
            content=tuple(content),
            tool_calls=tuple(calls),
            finish_reason=finish,
            completion_tokens=max(completion, 1),
            reasoning_tokens=reasoning_count,
        )


def build_answer(
    body: Mapping[str, Any], spec: ModelSpec, provider: Provider, answer_tokens: int
) -> Answer:
    """The deterministic answer to a validated chat request."""
    return AnswerBuilder(body, spec, provider, answer_tokens).build()


def build_text_completion(body: Mapping[str, Any], spec: ModelSpec, answer_tokens: int) -> Answer:
    """The deterministic answer to a legacy ``/v1/completions`` request."""
    prompt = body.get("prompt")
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False)
    chat_body = {**body, "messages": [{"role": "user", "content": text}], "disable_reasoning": True}
    chat_body.pop("tools", None)
    chat_body.pop("response_format", None)
    return AnswerBuilder(chat_body, spec, "cerebras", answer_tokens).build()
