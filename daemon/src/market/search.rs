//! Ranking packages for `market/search`: BM25 over the name (weighted
//! highest), capabilities, domain and specialization, and description; then
//! certification, curation, rating and compatibility break ties and nudge.

use std::collections::HashMap;

use protocol::market::PackageSummary;

const K1: f64 = 1.2;
const B: f64 = 0.75;

fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase)
}

/// A package's words, each field repeated by its weight (BM25F, simply).
fn document(p: &PackageSummary) -> Vec<String> {
    let mut words = Vec::new();
    for _ in 0..3 {
        words.extend(tokens(&p.name));
    }
    for _ in 0..2 {
        for capability in &p.capabilities {
            words.extend(tokens(capability));
        }
        words.extend(p.domain.iter().flat_map(|d| tokens(d)));
        words.extend(p.specialization.iter().flat_map(|s| tokens(s)));
    }
    words.extend(tokens(&p.description));
    words
}

/// Scores and orders `packages` for `query` (best first). With a query, only
/// packages that match a word of it are kept.
pub fn rank(mut packages: Vec<PackageSummary>, query: &str) -> Vec<PackageSummary> {
    let terms: Vec<String> = {
        let mut t: Vec<String> = tokens(query).collect();
        t.sort();
        t.dedup();
        t
    };
    let docs: Vec<Vec<String>> = packages.iter().map(document).collect();
    let n = docs.len().max(1) as f64;
    let average = docs.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for doc in &docs {
        let mut seen: Vec<&str> = doc.iter().map(String::as_str).filter(|w| terms.iter().any(|t| t == w)).collect();
        seen.sort_unstable();
        seen.dedup();
        for word in seen {
            *frequency.entry(word).or_default() += 1;
        }
    }
    for (package, doc) in packages.iter_mut().zip(&docs) {
        let mut text = 0.0;
        for term in &terms {
            let tf = doc.iter().filter(|w| *w == term).count() as f64;
            if tf == 0.0 {
                continue;
            }
            let df = frequency.get(term.as_str()).copied().unwrap_or(0) as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            text += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * doc.len() as f64 / average.max(1.0)));
        }
        let trust = if package.certified { 0.3 } else { 0.0 } + if package.curated { 0.2 } else { 0.0 };
        let liked = package.rating.average / 5.0 * (package.rating.count.min(20) as f64 / 20.0) * 0.3;
        let usable = if package.compatible { 0.0 } else { -1.0 };
        package.score = if terms.is_empty() || text > 0.0 { text + trust + liked + usable } else { f64::NEG_INFINITY };
    }
    packages.retain(|p| p.score.is_finite());
    packages.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    packages
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
