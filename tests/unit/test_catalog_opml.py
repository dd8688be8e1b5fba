"""The shipped AI catalog and OPML in/out."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.runner.app import catalog_path
from newsdesk.sources.catalog import CatalogError, load_catalog
from newsdesk.sources.opml import OpmlError, parse_opml, to_opml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def test_ai_catalog_covers_the_field() -> None:
    sources = load_catalog(ROOT / "catalogs" / "ai.toml")
    assert len(sources) >= 40
    ids = {s.id for s in sources}
    names = " ".join(s.name for s in sources)
    for lab in ("OpenAI", "Anthropic", "DeepMind", "Google Research", "Meta", "Microsoft",
                "NVIDIA", "Hugging Face", "Mistral", "Cohere", "xAI", "DeepSeek", "Qwen",
                "Zhipu", "Moonshot"):  # fmt: skip
        assert lab in names, lab
    for source_id in ("arxiv-cs-ai", "arxiv-cs-cl", "arxiv-cs-lg", "hf-daily-papers",
                      "import-ai", "the-batch", "simon-willison", "latent-space",
                      "interconnects", "hn-frontpage", "r-localllama"):  # fmt: skip
        assert source_id in ids, source_id
    assert {s.language for s in sources if s.group == "media"} >= {"en", "zh"}
    assert any(s.group == "podcast" and "youtube.com" in s.url for s in sources)
    assert all(s.url.startswith("https://") for s in sources)
    assert {s.kind for s in sources} >= {"rss", "json_api", "web_list"}


def test_catalog_errors_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nid = "x"\nname = "X"\npreset = "github_releases"\n')
    with pytest.raises(CatalogError, match=r"source #1 \(x\).*repo"):
        load_catalog(bad)
    bad.write_text('[[source]]\nid = "x"\nname = "X"\nurl = "https://x/"\nkind = "web_list"\n')
    with pytest.raises(CatalogError, match="item"):
        load_catalog(bad)


def test_opml_round_trip_of_our_fixture() -> None:
    first = parse_opml((FIXTURES / "subscriptions.opml").read_bytes())
    assert [s.url for s in first][:6] == [
        "https://lab.example.com/feed.xml",
        "https://two.example.org/atom",
        "http://old.example.com//feed",
        "https://wire.example.net/rss?section=ai&lang=en",
        "https://wire.example.net/rss?section=policy",
        "https://notes.example.org/feed/?format=rss",
    ]
    assert len({s.id for s in first}) == len(first) == 11  # same titles get distinct ids
    # http://feed.kay.example and http://feed.kay.example/ are one feed
    assert [s.url for s in first if "kay" in s.url] == ["http://feed.kay.example"]
    # the feed filed twice is one source, with its first name and folder
    assert first[0].tags == ("Labs",) and first[0].notes == "https://lab.example.com/"
    assert [s.name for s in first if s.url == first[0].url] == ["Lab One"]
    assert first[2].tags == ("Labs", "Archive")
    assert first[5].name == "Notes & Code"
    second = parse_opml(to_opml(first).encode())
    # names, URLs and folders survive; the export lists each folder's feeds together
    assert sorted((s.url, s.name, s.tags) for s in second) == sorted(
        (s.url, s.name, s.tags) for s in first
    )


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>',
        b"<opml><body><outline",
        b"<html><body></body></html>",
    ],
)
def test_bad_opml_is_refused(payload: bytes) -> None:
    with pytest.raises(OpmlError):
        parse_opml(payload)


def test_the_shipped_catalog_is_found_from_any_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = catalog_path(Path("catalogs/ai.toml"))
    assert found.is_absolute() and len(load_catalog(found)) >= 40
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "ai.toml").write_text("")  # one in the working directory wins
    assert catalog_path(Path("catalogs/ai.toml")) == Path("catalogs/ai.toml")
