//! Each source's context and content as MCP resources (`ctxd://sources/{id}/context`,
//! `ctxd://sources/{id}/content`), listed space by space, and the watch that tells a
//! subscriber when either changed.

use ctxd_domain::{
    Error, Result,
    ids::{SourceId, SpaceId},
    model::{PageRequest, Source, User},
    ports::SourceFilter,
    services::{ContentFormat, UseCases},
};
use futures_util::StreamExt;

use crate::render;

/// Which view of a source a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Context,
    Content,
}

/// A ctxd resource address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceUri {
    pub source: SourceId,
    pub view: View,
}

pub const CONTEXT_TEMPLATE: &str = "ctxd://sources/{id}/context";
pub const CONTENT_TEMPLATE: &str = "ctxd://sources/{id}/content";

impl ResourceUri {
    /// Reads `ctxd://sources/{id}/context|content`; `None` for anything else.
    pub fn parse(uri: &str) -> Option<Self> {
        let rest = uri.strip_prefix("ctxd://sources/")?;
        let (id, view) = rest.split_once('/')?;
        let view = match view {
            "context" => View::Context,
            "content" => View::Content,
            _ => return None,
        };
        Some(Self { source: id.parse().ok()?, view })
    }

    pub fn of(source: SourceId, view: View) -> String {
        match view {
            View::Context => format!("ctxd://sources/{source}/context"),
            View::Content => format!("ctxd://sources/{source}/content"),
        }
    }
}

/// A resource as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub uri: String,
    pub name: String,
    pub description: String,
    pub mime_type: &'static str,
}

/// Sources listed per call of `resources/list` (two resources each).
const SOURCES_PER_PAGE: u64 = 50;
/// Spaces looked through for a listing's next page.
const MAX_SPACES: u64 = 1000;

/// Where a listing goes on: a space and a page of its sources. The cursor's text is
/// `{space id}:{page}`.
fn parse_cursor(cursor: &str) -> Result<(SpaceId, u64)> {
    let bad = || Error::invalid("cursor", "not a cursor this server handed out");
    let (space, page) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((space.parse().map_err(|_| bad())?, page.parse().map_err(|_| bad())?))
}

/// One page of the user's resources, spaces in their listing order (newest first),
/// each space's sources pinned first, then newest first; and the next page's cursor.
pub async fn list(use_cases: &UseCases, user: &User, cursor: Option<&str>) -> Result<(Vec<Listed>, Option<String>)> {
    let spaces = use_cases.spaces.list(user, PageRequest::new(Some(1), Some(PageRequest::MAX_PER_PAGE))?).await?;
    let mut space_ids: Vec<SpaceId> = spaces.items.iter().map(|space| space.id).collect();
    let mut next_page = 2;
    while (space_ids.len() as u64) < spaces.total.min(MAX_SPACES) {
        let more =
            use_cases.spaces.list(user, PageRequest::new(Some(next_page), Some(PageRequest::MAX_PER_PAGE))?).await?;
        if more.items.is_empty() {
            break;
        }
        space_ids.extend(more.items.iter().map(|space| space.id));
        next_page += 1;
    }
    let (mut index, mut page) = match cursor {
        None => (0, 1),
        Some(cursor) => {
            let (space, page) = parse_cursor(cursor)?;
            let index = space_ids.iter().position(|id| *id == space).ok_or(Error::NotFound("space"))?;
            (index, page)
        }
    };
    while let Some(&space) = space_ids.get(index) {
        let request = PageRequest::new(Some(page), Some(SOURCES_PER_PAGE))?;
        let sources = use_cases.sources.list(user, space, SourceFilter::default(), request).await?;
        if !sources.items.is_empty() {
            let listed = sources.items.iter().flat_map(listed_views).collect();
            let next = if page < sources.pages() {
                Some(format!("{space}:{}", page + 1))
            } else {
                space_ids.get(index + 1).map(|next| format!("{next}:1"))
            };
            return Ok((listed, next));
        }
        index += 1;
        page = 1;
    }
    Ok((Vec::new(), None))
}

fn listed_views(source: &Source) -> [Listed; 2] {
    let name = render::status_line(source);
    [
        Listed {
            uri: ResourceUri::of(source.id, View::Context),
            name: format!("context: {name}"),
            description: "The compact context: summary, key points, decisions, open questions".into(),
            mime_type: "text/markdown",
        },
        Listed {
            uri: ResourceUri::of(source.id, View::Content),
            name: format!("content: {name}"),
            description: "The normalized markdown of the current revision".into(),
            mime_type: "text/markdown",
        },
    ]
}

/// The resource's text (markdown).
pub async fn read(use_cases: &UseCases, user: &User, uri: ResourceUri) -> Result<String> {
    match uri.view {
        View::Context => {
            let source = use_cases.sources.get(user, uri.source).await?;
            let context = use_cases.outputs.context(user, uri.source, None).await?;
            Ok(render::context(&source, &context))
        }
        View::Content => {
            let content = use_cases.outputs.content(user, uri.source, None, ContentFormat::Markdown).await?;
            Ok(String::from_utf8_lossy(&content.bytes).into_owned())
        }
    }
}

/// What a resource's readers see changes with: the current revision and the last run
/// that produced outputs (a re-extraction keeps the revision number).
fn outputs_of(source: &Source) -> (Option<u32>, Option<String>) {
    let produced = source
        .last_run
        .as_ref()
        .filter(|run| run.outcome == Some(ctxd_domain::model::RunOutcome::Changed))
        .map(|run| run.id.to_string());
    (source.revision, produced)
}

/// Calls `notify` each time source `id`'s outputs change, until the source is gone,
/// the feed ends or `notify` says to stop (it answers `false`).
///
/// # Errors
/// When the source cannot be watched (not found, someone else's).
pub async fn watch_outputs<F, Fut>(use_cases: &UseCases, user: &User, id: SourceId, mut notify: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let Some(mut states) = use_cases.sources.watch(user, id, true, None).await? else { return Ok(()) };
    let mut seen = None;
    while let Some(Ok(source)) = states.next().await {
        let now = outputs_of(&source);
        match &seen {
            None => seen = Some(now),
            Some(before) if *before == now => {}
            Some(_) => {
                seen = Some(now);
                if !notify().await {
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_round_trip_and_nothing_else_parses() {
        let id = SourceId::new();
        for view in [View::Context, View::Content] {
            assert_eq!(ResourceUri::parse(&ResourceUri::of(id, view)), Some(ResourceUri { source: id, view }));
        }
        for bad in [
            "ctxd://sources/x/context",
            &format!("ctxd://sources/{id}/raw"),
            &format!("file://sources/{id}/context"),
            &format!("ctxd://sources/{id}/context/more"),
            "",
        ] {
            assert_eq!(ResourceUri::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cursors_are_a_space_and_a_page() {
        let space = SpaceId::new();
        assert_eq!(parse_cursor(&format!("{space}:3")).unwrap(), (space, 3));
        assert!(parse_cursor("nonsense").is_err());
        assert!(parse_cursor(&format!("{space}:x")).is_err());
    }
}
