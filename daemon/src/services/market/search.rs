//! Ranking packages for `market/search`: BM25 over the name (weighted
//! highest), capabilities, domain and specialization, and description; then
//! certification, curation, rating and compatibility break ties and nudge.
//!
//! Words are compared by their stems (Snowball English, `rust-stemmers`), in
//! the index and in the query alike: `audit` finds "Audits", `tests` finds
//! "testing".
//!
//! A [`SearchIndex`] is built once per registry index (postings: for each
//! word, the packages that have it and how often), so a query touches only
//! the packages that match it, and only the best `limit` are sorted.

use std::collections::HashMap;

use protocol::market::PackageSummary;

const K1: f64 = 1.2;
const B: f64 = 0.75;

fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> =
        std::sync::LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| STEMMER.stem(&t.to_lowercase()).into_owned())
}

/// A package's words, each field counted by its weight (BM25F, simply).
fn document(p: &PackageSummary) -> (HashMap<String, u32>, u32) {
    let mut tf: HashMap<String, u32> = HashMap::new();
    let mut len = 0;
    let mut add = |text: &str, weight: u32| {
        for word in tokens(text) {
            *tf.entry(word).or_default() += weight;
            len += weight;
        }
    };
    add(&p.name, 3);
    for capability in &p.capabilities {
        add(capability, 2);
    }
    add(p.domain.as_deref().unwrap_or(""), 2);
    add(p.specialization.as_deref().unwrap_or(""), 2);
    add(&p.description, 1);
    (tf, len)
}

pub struct SearchIndex {
    /// term → (package, weighted term frequency)
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    /// What trust, rating and compatibility add to each package's score.
    nudges: Vec<f64>,
    average: f64,
}

impl SearchIndex {
    pub fn new(packages: &[PackageSummary]) -> SearchIndex {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(packages.len());
        for (i, package) in packages.iter().enumerate() {
            let (tf, len) = document(package);
            lengths.push(len);
            for (word, count) in tf {
                postings.entry(word).or_default().push((i as u32, count));
            }
        }
        let average = lengths.iter().map(|l| f64::from(*l)).sum::<f64>() / lengths.len().max(1) as f64;
        SearchIndex { postings, lengths, nudges: packages.iter().map(nudge).collect(), average }
    }

    /// The best `limit` `(position, score)` for `query`, best first; ties by
    /// name. With no query words, every package, by trust and rating alone.
    pub fn rank(&self, packages: &[PackageSummary], query: &str, limit: usize) -> Vec<(usize, f64)> {
        let mut terms: Vec<String> = tokens(query).collect();
        terms.sort();
        terms.dedup();
        let n = self.lengths.len().max(1) as f64;
        let mut scored: Vec<(usize, f64)> = if terms.is_empty() {
            self.nudges.iter().copied().enumerate().collect()
        } else {
            let mut text: HashMap<u32, f64> = HashMap::new();
            for term in &terms {
                let Some(list) = self.postings.get(term) else { continue };
                let df = list.len() as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                for &(doc, count) in list {
                    let count = f64::from(count);
                    let norm = 1.0 - B + B * f64::from(self.lengths[doc as usize]) / self.average.max(1.0);
                    *text.entry(doc).or_default() += idf * count * (K1 + 1.0) / (count + K1 * norm);
                }
            }
            text.into_iter().map(|(doc, score)| (doc as usize, score + self.nudges[doc as usize])).collect()
        };
        let order = |a: &(usize, f64), b: &(usize, f64)| {
            b.1.total_cmp(&a.1).then_with(|| packages[a.0].name.cmp(&packages[b.0].name))
        };
        if limit > 0 && scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, order);
            scored.truncate(limit);
        }
        scored.sort_by(order);
        scored
    }
}

fn nudge(package: &PackageSummary) -> f64 {
    let trust = if package.certified { 0.3 } else { 0.0 } + if package.curated { 0.2 } else { 0.0 };
    let liked = package.rating.average / 5.0 * (package.rating.count.min(20) as f64 / 20.0) * 0.3;
    let usable = if package.compatible { 0.0 } else { -1.0 };
    trust + liked + usable
}

/// Ranks a list once (no kept index): for small lists and tests.
pub fn rank(packages: Vec<PackageSummary>, query: &str) -> Vec<PackageSummary> {
    let index = SearchIndex::new(&packages);
    index
        .rank(&packages, query, packages.len())
        .into_iter()
        .map(|(i, score)| PackageSummary { score, ..packages[i].clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, description: &str, capabilities: &[&str]) -> PackageSummary {
        PackageSummary {
            name: name.into(),
            description: description.into(),
            capabilities: capabilities.iter().map(|c| (*c).into()).collect(),
            compatible: true,
            ..PackageSummary::default()
        }
    }

    #[test]
    fn names_weigh_most_then_capabilities_then_trust() {
        let packages = vec![
            package("docs-writer", "Writes documentation for Rust crates", &["documentation"]),
            package("rust-auditor", "Audits unsafe code", &["code_review", "security"]),
            package("py-linter", "Lints Python; not for rust", &["code_review"]),
        ];
        let ranked = rank(packages.clone(), "rust");
        assert_eq!(ranked[0].name, "rust-auditor");
        assert_eq!(ranked.len(), 3, "every package mentioning rust");
        let ranked = rank(packages.clone(), "security review");
        assert_eq!(ranked[0].name, "rust-auditor");
        assert!(rank(packages.clone(), "kubernetes").is_empty());
        // Issue #15: words match by their stems, in the index and the query alike.
        assert_eq!(rank(packages.clone(), "audit")[0].name, "rust-auditor", "\"audit\" finds \"Audits\"");
        assert_eq!(rank(packages.clone(), "writing")[0].name, "docs-writer", "\"writing\" finds \"Writes\"");
        assert_eq!(rank(packages.clone(), "linting")[0].name, "py-linter");

        let mut trusted = packages.clone();
        trusted[2].certified = true;
        trusted[2].rating = protocol::market::Rating { average: 5.0, count: 40 };
        let ranked = rank(trusted, "");
        assert_eq!(ranked[0].name, "py-linter", "no query: the trusted and liked first");
        let mut old = packages;
        old[1].compatible = false;
        assert_eq!(rank(old, "rust")[0].name, "docs-writer", "an incompatible package sinks");
    }
}
