//! The two article-extraction metrics, reimplemented from their READMEs in
//! `../shared/data/article-extraction/`: ScrapingHub's 4-token shingle
//! precision/recall (macro averages, then the harmonic mean) and WCXB's bag-of-tokens
//! F1 (mean of per-page F1).

use std::{collections::HashMap, sync::OnceLock};

use regex::Regex;

/// Python's `\w+` on `str`: letters, numbers and `_` (the `regex` crate's `\w` differs).
fn words(text: &str) -> impl Iterator<Item = &str> {
    static WORD: OnceLock<Regex> = OnceLock::new();
    WORD.get_or_init(|| Regex::new(r"[\p{L}\p{N}_]+").expect("valid")).find_iter(text).map(|m| m.as_str())
}

/// Normalised (tp, fp, fn) for one page under the ScrapingHub shingle metric.
pub fn shingle_counts(reference: &str, prediction: &str, n: usize) -> (f64, f64, f64) {
    fn shingles(text: &str, n: usize) -> HashMap<Vec<&str>, usize> {
        let tokens: Vec<&str> = words(text).collect();
        let mut out = HashMap::new();
        match tokens.len() {
            0 => {}
            len if len < n => *out.entry(tokens).or_default() += 1,
            len => {
                for i in 0..=len - n {
                    *out.entry(tokens[i..i + n].to_vec()).or_default() += 1;
                }
            }
        }
        out
    }
    let (truth, predicted) = (shingles(reference, n), shingles(prediction, n));
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (shingle, &t) in &truth {
        let p = predicted.get(shingle).copied().unwrap_or(0);
        tp += t.min(p);
        fn_ += t.saturating_sub(p);
    }
    for (shingle, &p) in &predicted {
        fp += p.saturating_sub(truth.get(shingle).copied().unwrap_or(0));
    }
    let sum = (tp + fp + fn_) as f64;
    if sum == 0.0 { (0.0, 0.0, 0.0) } else { (tp as f64 / sum, fp as f64 / sum, fn_ as f64 / sum) }
}

/// Precision, recall and F1 over pages of (tp, fp, fn), ScrapingHub style.
pub fn shingle_scores(pages: &[(f64, f64, f64)]) -> Scores {
    let mean =
        |values: Vec<f64>| if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 };
    let precision = mean(pages.iter().filter(|p| p.0 + p.1 > 0.0).map(|p| p.0 / (p.0 + p.1)).collect());
    let recall = mean(pages.iter().filter(|p| p.0 + p.2 > 0.0).map(|p| p.0 / (p.0 + p.2)).collect());
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Scores { precision, recall, f1 }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Per-page precision, recall and F1 under the WCXB bag-of-tokens metric.
pub fn bag_scores(reference: &str, prediction: &str) -> Scores {
    let bag = |text: &str| {
        let lower = text.to_lowercase();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for word in words(&lower) {
            *counts.entry(word.to_owned()).or_default() += 1;
        }
        counts
    };
    let (truth, predicted) = (bag(reference), bag(prediction));
    let (n_truth, n_predicted): (usize, usize) = (truth.values().sum(), predicted.values().sum());
    if n_truth == 0 {
        let score = if n_predicted == 0 { 1.0 } else { 0.0 };
        return Scores { precision: score, recall: score, f1: score };
    }
    if n_predicted == 0 {
        return Scores::default();
    }
    let overlap: usize = truth.iter().map(|(w, &t)| t.min(predicted.get(w).copied().unwrap_or(0))).sum();
    let precision = overlap as f64 / n_predicted as f64;
    let recall = overlap as f64 / n_truth as f64;
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Scores { precision, recall, f1 }
}

/// The plain mean of per-page scores (WCXB's aggregate).
pub fn mean_scores(pages: &[Scores]) -> Scores {
    let n = pages.len().max(1) as f64;
    Scores {
        precision: pages.iter().map(|s| s.precision).sum::<f64>() / n,
        recall: pages.iter().map(|s| s.recall).sum::<f64>() / n,
        f1: pages.iter().map(|s| s.f1).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9 && (a.2 - b.2).abs() < 1e-9
    }

    #[test]
    fn shingle_counts_match_the_readme_cases() {
        assert!(close(shingle_counts("a b c", "a b c", 3), (1.0, 0.0, 0.0)));
        assert!(close(shingle_counts("a b c d", "a b c", 3), (0.5, 0.0, 0.5)));
        assert!(close(shingle_counts("a b c", "a b c d", 3), (0.5, 0.5, 0.0)));
        assert!(close(shingle_counts("a", "", 3), (0.0, 0.0, 1.0)));
        assert!(close(shingle_counts("", "a", 3), (0.0, 1.0, 0.0)));
        assert!(close(shingle_counts("a b c a b c", "a b c", 3), (0.25, 0.0, 0.75)));
        let tokens: Vec<&str> = words("a b,cd:e(foo,bar) ").collect();
        assert_eq!(tokens, ["a", "b", "cd", "e", "foo", "bar"]);
        assert_eq!(words("½ x_y").collect::<Vec<_>>(), ["½", "x_y"], "No numbers and underscores are word characters");
    }

    #[test]
    fn bag_scores_follow_the_wcxb_rules() {
        assert_eq!(bag_scores("", ""), Scores { precision: 1.0, recall: 1.0, f1: 1.0 });
        assert_eq!(bag_scores("", "x"), Scores::default());
        assert_eq!(bag_scores("a b", ""), Scores::default());
        let s = bag_scores("The cat sat", "the cat ran away");
        assert!((s.precision - 0.5).abs() < 1e-9 && (s.recall - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn aggregate_precision_skips_pages_without_predicted_shingles() {
        let scores = shingle_scores(&[(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]);
        assert_eq!(scores.precision, 1.0);
        assert_eq!(scores.recall, 0.5);
    }
}
