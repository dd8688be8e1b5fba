"""For agents: /llms.txt (what this site is and where things are) and /api/v1/agent.md."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from newsdesk.publish import agents
from newsdesk.web.deps import database, settings
from newsdesk.web.feeds import base_url
from newsdesk.web.openapi import MarkdownResponse

router = APIRouter(tags=["agents"])
MARKDOWN = agents.MARKDOWN


def _guide(base: str) -> str:
    return f"""# newsdesk

> A self-hosted AI-news radar with an editor inside: stories from lab blogs, media, papers and
> community sources, one copy each, grouped into events and judged (HKR, importance 0-100, tier
> p1 / featured / all) with a summary and tags.

## Read it
- [Hot: p1 and featured]({base}/): the desk's front page
- [Events]({base}/events): stories grouped across sources; each as Markdown at
  `{base}/events/ID.md`
- [Daily brief]({base}/daily): composed by rules each morning; `{base}/daily/YYYY-MM-DD.md`;
  weekly and monthly reports at `{base}/weekly/YYYY-MM-DD.md`, `{base}/monthly/YYYY-MM-DD.md`
- [Agent guide and latest stories]({base}/api/v1/agent.md): this desk in Markdown

## API v1 (JSON, OpenAPI at {base}/api/v1/openapi.json)
- `GET {base}/api/v1/items?tier=p1,featured&tag=&source=&q=&limit=&cursor=`: stories, newest first
- `GET {base}/api/v1/items/{{id}}`: one story
- `GET {base}/api/v1/search?q=`: search by words and meaning, best match first
- `GET {base}/api/v1/events?order=newest|heat&limit=&cursor=`: events (stories grouped
  across sources); `GET {base}/api/v1/events/{{id}}`: one event with its coverage;
  `GET {base}/api/v1/hot`: the hottest events
- `GET {base}/api/v1/sources`, `{base}/api/v1/tags`
- `GET {base}/api/v1/daily[/YYYY-MM-DD]`, `/api/v1/weekly[/...]`, `/api/v1/monthly[/...]`
- Pagination: pass `next_cursor` back as `cursor`. Rate limited per client (429 + Retry-After).

## Feeds
- [RSS featured]({base}/feed.xml), [JSON Feed featured]({base}/feed.json),
  [all]({base}/feed/all.xml), per tag `{base}/feed/tag/TAG.xml`, Chinese titles
  `{base}/feed/lang/zh.xml`, [daily]({base}/feed/daily.xml), [weekly]({base}/feed/weekly.xml),
  [monthly]({base}/feed/monthly.xml)

## MCP
- Streamable HTTP at `{base}/mcp`; tools: latest, search, hot_events, event, item, daily_brief

## Notes
- {agents.NOTICE}
"""


@router.get("/llms.txt", response_class=PlainTextResponse, summary="Guide for language models")
def llms_txt(request: Request) -> PlainTextResponse:
    return PlainTextResponse(_guide(base_url(request)), media_type="text/plain; charset=utf-8")


@router.get(
    "/api/v1/agent.md",
    response_class=MarkdownResponse,
    summary="The desk in Markdown",
)
def agent_md(request: Request) -> PlainTextResponse:
    base = base_url(request)
    with database(request).read() as conn:
        latest = agents.latest_md(conn, base, 20, settings(request).timezone)
    return PlainTextResponse(_guide(base) + "\n" + latest + "\n", media_type=MARKDOWN)
