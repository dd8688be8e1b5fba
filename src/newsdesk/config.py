"""Settings: `NEWSDESK_*` environment variables, then an optional `newsdesk.toml`, then defaults.

A wrong value stops start-up with `ConfigError`, whose message names the key and what it
accepts, so the CLI can print one line instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "NEWSDESK_"
SECRET_FIELDS = (
    "llm_api_key",
    "admin_password",
    "llm_api_key_judge_second",
    "llm_api_key_comment",
    "llm_api_key_relate",
    "embed_api_key",
    "api_read_token",
    "notify_urls",
    "reader_password",
)
# USD per million tokens (input, output) for common models; NEWSDESK_LLM_PRICES adds or overrides.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "o3-mini": (1.1, 4.4),
    "o4-mini": (1.1, 4.4),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "deepseek-chat": (0.27, 1.1),
    "deepseek-reasoner": (0.55, 2.19),
    "claude-3-5-haiku-latest": (0.8, 4.0),
    "claude-sonnet-4-0": (3.0, 15.0),
    "gemini-2.0-flash": (0.1, 0.4),
    "qwen-plus": (0.4, 1.2),
}


# The bundled demo is a snapshot of 2025 whose newest story is Claude Opus 4.5 (24 November
# 2025, 17:00 UTC). With --demo the desk's clock stands an hour after it, on the snapshot's last
# day, so heat, markers, the daily brief and relative ages read the snapshot as a live news day
# (tests/unit/test_demo_clock.py checks the moment against the bundled feeds).
DEMO_AS_OF = datetime(2025, 11, 24, 18, 0, tzinfo=UTC)


def desk_now(demo: bool = False) -> datetime:
    """The desk's clock: the demo snapshot's moment with --demo, else the real time."""
    return DEMO_AS_OF if demo else datetime.now(UTC)


class ConfigError(ValueError):
    """A configuration value is wrong; the message is meant for the user as it is."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        toml_file=os.environ.get("NEWSDESK_CONFIG_FILE", "newsdesk.toml"),
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(Path("data"), description="a directory path")
    database_url: str = Field(
        "",
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB (empty: SQLite in data_dir)",
    )
    host: str = Field("127.0.0.1", description="an interface address such as 127.0.0.1")
    port: int = Field(8000, ge=1, le=65535, description="an integer from 1 to 65535")
    timezone: str = Field("UTC", description="an IANA time zone such as UTC or Asia/Shanghai")
    allow_private_urls: bool = Field(False, description="true or false")
    # the demo's clock (DEMO_AS_OF) for the desk's pages; `--demo` sets it
    demo: bool = Field(False, description="true or false")
    catalog: Path = Field(Path("catalogs/ai.toml"), description="a catalog TOML file")
    policy_path: Path | None = Field(None, description="a policy Markdown file")
    run_interval_minutes: int = Field(15, ge=1, le=1440, description="minutes from 1 to 1440")
    concurrency: int = Field(8, ge=1, le=256, description="an integer from 1 to 256")
    collect_enabled: bool = Field(True, description="true or false")
    fetch_timeout_seconds: float = Field(60.0, gt=0, le=600, description="seconds from 0 to 600")
    fulltext_enabled: bool = Field(True, description="true or false")
    # episodes' published transcripts and chapters (collect/transcripts.py)
    transcripts_enabled: bool = Field(True, description="true or false")
    # YouTube's captions through youtube-transcript-api: undocumented pages, off by default
    youtube_captions: bool = Field(False, description="true or false")
    youtube_caption_languages: str = Field(
        "en", description="comma-separated language codes, most wanted first (en,zh-Hans)"
    )
    rsshub_base: str = Field("https://rsshub.app", description="an RSSHub base URL")
    wewe_rss_base: str = Field("", description="a wewe-rss base URL (WeChat accounts)")
    model_calls_enabled: bool = Field(True, description="true or false")
    notify_enabled: bool = Field(True, description="true or false")
    llm_base_url: str = Field("", description="an OpenAI-compatible base URL")
    llm_api_key: SecretStr = Field(SecretStr(""), description="an API key")
    llm_model: str = Field("", description="a model name")
    admin_password: SecretStr = Field(SecretStr(""), description="a password")
    # Per-step model routing (editor/providers.py): each step may name its own model, and its
    # own base URL and key, so a second vendor can confirm the first. Empty: the main one.
    llm_model_judge: str = Field("", description="a model name")
    llm_model_judge_second: str = Field("", description="a model name")
    llm_model_comment: str = Field("", description="a model name")
    llm_model_relate: str = Field("", description="a model name")
    llm_model_report: str = Field("", description="a model name")
    llm_base_url_judge_second: str = Field("", description="an OpenAI-compatible base URL")
    llm_api_key_judge_second: SecretStr = Field(SecretStr(""), description="an API key")
    llm_base_url_comment: str = Field("", description="an OpenAI-compatible base URL")
    llm_api_key_comment: SecretStr = Field(SecretStr(""), description="an API key")
    llm_base_url_relate: str = Field("", description="an OpenAI-compatible base URL")
    llm_api_key_relate: SecretStr = Field(SecretStr(""), description="an API key")
    # Embeddings (embed/): the bundled offline model unless an endpoint's model is named; the
    # endpoint's base URL and key default to the LLM's.
    embed_enabled: bool = Field(True, description="true or false")
    embed_model: str = Field("", description="an embeddings model name (empty: the bundled one)")
    embed_base_url: str = Field("", description="an OpenAI-compatible base URL")
    embed_api_key: SecretStr = Field(SecretStr(""), description="an API key")
    embed_batch_size: int = Field(64, ge=1, le=2048, description="an integer from 1 to 2048")
    llm_concurrency: int = Field(8, ge=1, le=256, description="an integer from 1 to 256")
    llm_timeout_seconds: float = Field(120.0, gt=0, le=3600, description="seconds, up to 3600")
    llm_max_retries: int = Field(4, ge=0, le=20, description="an integer from 0 to 20")
    llm_structured: str = Field(
        "auto", pattern="^(auto|json_schema|json_object)$",
        description="auto, json_schema or json_object",
    )  # fmt: skip
    llm_unknown_hold_minutes: float = Field(
        30.0, ge=0, description="minutes before a call of unknown outcome may be re-sent"
    )
    # The circuit breaker: after this many connection failures in a row an endpoint is left
    # alone (its calls fail at once, the rules editor judges) for `llm_breaker_seconds`.
    llm_breaker_failures: int = Field(5, ge=0, le=1000, description="a count; 0 turns it off")
    llm_breaker_seconds: float = Field(300.0, ge=0, le=86400, description="seconds, up to 86400")
    llm_budget_calls_per_minute: int = Field(0, ge=0, description="a count; 0 means no limit")
    llm_budget_calls_per_hour: int = Field(0, ge=0, description="a count; 0 means no limit")
    llm_budget_calls_per_day: int = Field(0, ge=0, description="a count; 0 means no limit")
    llm_budget_tokens_per_hour: int = Field(0, ge=0, description="a count; 0 means no limit")
    llm_budget_tokens_per_day: int = Field(0, ge=0, description="a count; 0 means no limit")
    llm_budget_cost_per_day: float = Field(0.0, ge=0, description="USD; 0 means no limit")
    # USD per million tokens (input, output) by model name; merged over DEFAULT_PRICES.
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description='JSON like {"model": [in_usd_per_mtok, out_usd_per_mtok]}'
    )
    # Procrastinate workers (runner/worker.py, docs/operations.md): how soon a failed task is
    # retried (the first wait; each next one doubles), how often a worker looks for jobs whose
    # time has come (retries, settle waits), and how long a silent worker is trusted before its
    # jobs go to another (its heartbeat beats three times in that span); how long judging
    # waits after a tick's stories are grouped (grouping waits half of it), so each story is
    # judged with the coverage of everything that tick collected.
    worker_settle_seconds: float = Field(10.0, ge=0, le=600, description="seconds, up to 600")
    worker_retry_seconds: float = Field(2.0, gt=0, le=3600, description="seconds, up to 3600")
    worker_poll_seconds: float = Field(2.0, gt=0, le=60, description="seconds, up to 60")
    worker_stalled_seconds: float = Field(15.0, ge=1.5, le=3600, description="seconds, 1.5 to 3600")
    # outputs (issue 7): feeds, API, reports, notifications, reader apps
    public_url: str = Field("", description="the desk's public base URL, e.g. https://news.example")
    api_read_token: SecretStr = Field(SecretStr(""), description="a token (empty: API is open)")
    api_rate_limit: int = Field(120, ge=0, le=100_000, description="requests per minute, 0 = off")
    cors_origins: str = Field("", description="comma-separated origins, or * for any")
    daily_hour: int = Field(8, ge=0, le=23, description="an hour from 0 to 23")
    notify_urls: SecretStr = Field(SecretStr(""), description="apprise URLs, space-separated")
    reader_user: str = Field("reader", description="a user name for the Google Reader API")
    reader_password: SecretStr = Field(SecretStr(""), description="a password (empty: API off)")
    page_cache_seconds: float = Field(5.0, ge=0, le=600, description="seconds from 0 to 600")
    # sign-in throttle (web/throttle.py): editors, reader apps' ClientLogin, ingest tokens
    signin_lock_after: int = Field(10, ge=1, le=1000, description="failures from 1 to 1000")
    signin_lock_minutes: float = Field(15.0, gt=0, le=1440, description="minutes, up to 1440")
    trusted_proxies: str = Field(
        "", description="comma-separated proxy addresses or networks, e.g. 127.0.0.1,10.0.0.0/8"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments beat the environment, which beats newsdesk.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the part
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("unsupported database")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsdesk.db').as_posix()}"

    @property
    def base_url(self) -> str:
        """Absolute base for links in feeds, reports and notifications."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def shown(self) -> dict[str, str]:
        """The effective configuration as env-style keys, secrets masked."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value: Any = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name == "database_url":
                value = _mask_url_password(self.effective_database_url)
            out[ENV_PREFIX + name.upper()] = "" if value is None else str(value)
        return out


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:********@{host}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings or raise ConfigError naming the key and the accepted values, or the
    file, line and fault when newsdesk.toml itself cannot be read."""
    path = Path(str(Settings.model_config.get("toml_file") or "newsdesk.toml"))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_fault(path, exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _toml_fault(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    # tomllib puts the place at the end ("Illegal character '\\n' (at line 2, column 16)");
    # the reader wants it first, next to the file name, as compilers print it.
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if where is None:
        return f"{path}: not valid TOML: {message}"
    what = message[: where.start()].strip()
    return f"{path}, line {where[1]}, column {where[2]}: not valid TOML: {what}"


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = Settings.model_fields.get(name)
        accepted = field.description if field and field.description else error["msg"]
        shown = "********" if name in SECRET_FIELDS else repr(error.get("input"))
        lines.append(f"{ENV_PREFIX}{name.upper()}={shown} is not valid: expected {accepted}")
    return "; ".join(lines)
