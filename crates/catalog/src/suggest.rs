//! The names a person probably meant: one rule for every "did you mean"
//! tern says (entity kinds, annotations, dataset, consumer and migration ids).

/// Up to three candidates closest to `word`, nearest first: those within a
/// few edits (about one in three characters, case ignored) and those that
/// contain it or that it contains. Empty when nothing is close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = word.to_lowercase();
    let limit = (w.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| !c.is_empty() && *c != word)
        .filter_map(|c| {
            let lc = c.to_lowercase();
            let d = distance(&w, &lc);
            let near = d <= limit
                || (w.len() >= 3 && lc.contains(&w))
                || (lc.len() >= 3 && w.contains(&lc));
            near.then_some((d, c))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// `closest` in words: ` (did you mean a, b?)`, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let near = closest(word, candidates);
    if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", near.join(", "))
    }
}

/// `no dataset "x" in the catalog`, with the closest known ids, or a few of
/// them when none is close, or the word that the catalog holds none.
pub fn not_found(what: &str, id: &str, known: &[String]) -> String {
    let hint = if known.is_empty() {
        format!(": the catalog holds no {what}s yet")
    } else {
        let near = did_you_mean(id, known.iter().map(String::as_str));
        if near.is_empty() {
            let some: Vec<&str> = known.iter().take(5).map(String::as_str).collect();
            match known.len() - some.len() {
                0 => format!(" (it holds {})", some.join(", ")),
                more => format!(" (it holds {} and {more} more)", some.join(", ")),
            }
        } else {
            near
        }
    };
    format!("no {what} {id:?} in the catalog{hint}")
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
/// Inputs longer than 256 characters are compared by length alone, so a
/// hostile name costs nothing.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 256 || b.len() > 256 {
        return a.len().abs_diff(b.len()).max(1);
    }
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word() {
        let kinds = ["Component", "Resource", "API", "Group", "User"];
        assert_eq!(closest("Componnet", kinds), ["Component"]);
        assert_eq!(closest("component", kinds), ["Component"]);
        assert_eq!(closest("Resorce", kinds), ["Resource"]);
        assert!(closest("Pipeline", kinds).is_empty());
        let ids = ["hdfs-plays", "lake-plays", "hdfs-users"];
        assert_eq!(closest("hdfs-play", ids)[0], "hdfs-plays");
        assert_eq!(closest("plays", ids), ["hdfs-plays", "lake-plays"]);
        assert_eq!(did_you_mean("xyz", ids), "");
        assert_eq!(
            did_you_mean("tern.dev/path", ["tern.dev/paths", "tern.dev/tables"]),
            " (did you mean tern.dev/paths?)"
        );
        let known = vec!["hdfs-plays".to_string(), "lake-plays".to_string()];
        assert_eq!(
            not_found("dataset", "hdfs-play", &known),
            "no dataset \"hdfs-play\" in the catalog (did you mean hdfs-plays?)"
        );
        assert_eq!(
            not_found("dataset", "zzz", &known),
            "no dataset \"zzz\" in the catalog (it holds hdfs-plays, lake-plays)"
        );
        assert!(not_found("migration", "m", &[]).ends_with("holds no migrations yet"));
        let long = "a".repeat(10_000);
        assert!(closest(&long, ids).is_empty());
    }
}
