//! Sentence splitting and TextRank (Mihalcea & Tarau, 2004) over sentences: the
//! extractive ranking behind summaries and key points. Deterministic: ties keep
//! document order.

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

/// Sentences of `text`, trimmed, without empty ones.
pub fn sentences(text: &str) -> Vec<String> {
    text.split_sentence_bounds()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

/// At most this many sentences are ranked; the graph is quadratic in them.
pub const MAX_SENTENCES: usize = 600;

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "let", "me", "more", "my", "no", "not", "of", "on", "one", "or", "our", "out",
    "she", "so", "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "up",
    "us", "was", "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your",
];

/// Content words of a sentence as sorted, deduplicated ids.
fn words(sentence: &str, vocabulary: &mut HashMap<String, u32>) -> Vec<u32> {
    let mut ids: Vec<u32> = sentence
        .unicode_words()
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(&w.as_str()))
        .map(|w| {
            let next = vocabulary.len() as u32;
            *vocabulary.entry(w).or_insert(next)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn overlap(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Indexes of `sentences` from the most to the least central. Only the first
/// [`MAX_SENTENCES`] take part.
pub fn rank(sentences: &[String]) -> Vec<usize> {
    let n = sentences.len().min(MAX_SENTENCES);
    let mut vocabulary = HashMap::new();
    let bags: Vec<Vec<u32>> = sentences[..n].iter().map(|s| words(s, &mut vocabulary)).collect();
    // Edge weights: shared words normalised by the log of both lengths.
    let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&bags[i], &bags[j]);
            if a.len() < 2 || b.len() < 2 {
                continue;
            }
            let shared = overlap(a, b);
            if shared == 0 {
                continue;
            }
            let weight = shared as f64 / ((a.len() as f64).ln() + (b.len() as f64).ln());
            edges[i].push((j, weight));
            edges[j].push((i, weight));
        }
    }
    let out_weight: Vec<f64> = edges.iter().map(|e| e.iter().map(|(_, w)| w).sum()).collect();
    let damping = 0.85;
    let mut score = vec![1.0; n];
    for _ in 0..30 {
        let mut next = vec![1.0 - damping; n];
        for (i, links) in edges.iter().enumerate() {
            for &(j, w) in links {
                if out_weight[j] > 0.0 {
                    next[i] += damping * w / out_weight[j] * score[j];
                }
            }
        }
        score = next;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_split_and_whitespace_collapsed() {
        assert_eq!(sentences("One two.  Three\tfour? Five!\nSix"), ["One two.", "Three four?", "Five!", "Six"]);
        assert!(sentences(" ... ").is_empty());
    }

    #[test]
    fn the_most_connected_sentence_ranks_first() {
        let text = [
            "The queue stores runs in Postgres.",
            "Workers claim runs from the Postgres queue with SKIP LOCKED.",
            "Bananas are yellow.",
            "Each run in the queue has a lease that workers renew.",
        ]
        .map(String::from);
        let order = rank(&text);
        assert_eq!(order.len(), 4);
        assert_eq!(*order.last().unwrap(), 2, "the unrelated sentence ranks last");
        assert_eq!(rank(&text), order, "deterministic");
        assert!(rank(&[]).is_empty());
    }
}
