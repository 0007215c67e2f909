//! "Did you mean" suggestions, with rustc's tolerance for typos.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let distance = if c.eq_ignore_ascii_case(word) {
                0
            } else {
                strsim::damerau_levenshtein(word, c)
            };
            (distance, c)
        })
        .filter(|(distance, _)| *distance <= limit && *distance < word.chars().count())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_misses_only() {
        let nodes = ["service", "project", "build", "cache"];
        assert_eq!(closest("servce", nodes), Some("service"));
        assert_eq!(closest("Project", nodes), Some("project"));
        assert_eq!(closest("bulid", nodes), Some("build"));
        assert_eq!(closest("network", nodes), None);
        assert_eq!(closest("b", ["a"]), None);
    }
}
