//! `bench extract`: the HTML normalizer on the two article-extraction sets of
//! `../shared/data` (F1 as each set's README defines it, per set, part and page type,
//! and time per page) next to trafilatura on the same pages; structure kept against
//! WCXB's markdown truth; and the context extractor on the real chat transcripts
//! (compression, code blocks, turns, decisions and open questions).
//!
//! **Tuning and checking.** WCXB dev and the transcripts are split by a fixed hash of
//! the page id or file name ([`part_of`], about 2:1): rules are chosen on the tuning
//! part only, and the checking part says whether they carry to pages they were not
//! chosen on. Every figure is printed for both parts.
//!
//! With `--gate` it runs the checking part of WCXB and a fixed part of ScrapingHub
//! without trafilatura and fails when a figure falls under its pinned floor: the CI
//! quality gate.

mod chat;
mod pages;

use std::path::PathBuf;

use anyhow::bail;

/// Floors the gate holds quality to; raise them when the extractor gets better.
mod floors {
    /// Measured 0.981 on the gate's 40 pages (normalizer auto-14 to auto-20).
    pub const SCRAPINGHUB_F1: f64 = 0.976;
    /// Measured 0.87061 on the checking part of WCXB dev (450 pages, auto-32; 0.87016
    /// on auto-31, the first above the target of 0.87, which this floor
    /// holds; 0.86968 on auto-30, 0.867
    /// on auto-25 to auto-29, 0.863 on auto-24, 0.861 on auto-22 and auto-23, 0.860
    /// on auto-20 and auto-21). The outputs are deterministic, so the floor sits just
    /// under the figure and guards each kept rule.
    pub const WCXB_CHECKING_F1: f64 = 0.870;
    /// Per page type on the checking part: trafilatura 2.3.1's own F1 there (the
    /// issue's bar: no type below it).
    pub const WCXB_CHECKING_TYPES: &[(&str, f64)] = &[
        ("article", 0.919),
        ("collection", 0.514),
        ("documentation", 0.896),
        ("forum", 0.653),
        ("listing", 0.520),
        ("product", 0.573),
        ("service", 0.753),
    ];
    pub const TRANSCRIPT_COMPRESSION: f64 = 3.0;

    /// Share of the annotated decisions' values a part's contexts keep. The rules
    /// are chosen on the tuning part, where every value is kept; the checking part
    /// is held to the target (measured 65 of 68, 0.956).
    pub fn transcript_decision_values(part: super::Part) -> f64 {
        match part {
            super::Part::Tuning => 1.0,
            super::Part::Checking => 0.95,
        }
    }
}

/// Pages of ScrapingHub the gate uses: the first ones in id order.
const GATE_SCRAPINGHUB: usize = 40;

#[derive(Debug, Default)]
pub struct Options {
    pub data: PathBuf,
    pub python: Option<PathBuf>,
    pub gate: bool,
    pub limit: Option<usize>,
    /// Where to write ctxd's text per page (`<set>/<id>.txt`, with `<set>/types.tsv` of
    /// the page types found), for inspecting misses.
    pub dump: Option<PathBuf>,
}

/// Which side of the tuning/checking split a page or transcript is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Tuning,
    Checking,
}

impl Part {
    pub const BOTH: [Part; 2] = [Part::Tuning, Part::Checking];

    pub fn label(self) -> &'static str {
        match self {
            Part::Tuning => "tuning",
            Part::Checking => "checking",
        }
    }
}

/// The part `id` belongs to: checking when the 64-bit FNV-1a hash of its bytes is a
/// multiple of 3. FNV-1a is written out here rather than taken from a crate because
/// the split must never move: a hasher's output may change between versions, and
/// this one is fixed by its definition.
pub fn part_of(id: &str) -> Part {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let hash = id.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
    if hash % 3 == 0 { Part::Checking } else { Part::Tuning }
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    let data = &options.data;
    if !data.join("article-extraction").is_dir() {
        bail!("no benchmark data at {} (pass --data DIR)", data.display());
    }
    let mut failures = pages::run(options)?;
    failures.extend(chat::transcripts(&data.join("transcripts"))?);
    if !failures.is_empty() {
        bail!("quality gate failed:\n  {}", failures.join("\n  "));
    }
    if options.gate {
        println!("\nquality gate: every figure is at or above its floor");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Part, part_of};

    #[test]
    fn the_split_is_fixed_and_about_two_to_one() {
        // Pinned ids: the split of the published sets must never move.
        assert_eq!(part_of("0001"), Part::Tuning);
        assert_eq!(part_of(""), Part::Tuning);
        let checking = (1..=3000).filter(|i| part_of(&format!("{i:04}")) == Part::Checking).count();
        assert!((900..=1100).contains(&checking), "{checking} of 3000 in the checking part");
    }
}
