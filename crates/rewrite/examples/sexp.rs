fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lang: tree_sitter::Language = match args[1].as_str() {
        "py" => tree_sitter_python::LANGUAGE.into(),
        "scala" => tree_sitter_scala::LANGUAGE.into(),
        _ => tree_sitter_java::LANGUAGE.into(),
    };
    let src = std::fs::read_to_string(&args[2]).unwrap();
    let mut p = tree_sitter::Parser::new();
    p.set_language(&lang).unwrap();
    let t = p.parse(&src, None).unwrap();
    fn walk(n: tree_sitter::Node, src: &str, depth: usize, field: Option<&str>) {
        let txt = &src[n.byte_range()];
        let short: String = txt
            .chars()
            .take(40)
            .collect::<String>()
            .replace('\n', "\\n");
        println!(
            "{}{}{} [{}] {:?}",
            "  ".repeat(depth),
            field.map(|f| format!("{f}: ")).unwrap_or_default(),
            n.kind(),
            if n.is_named() { "n" } else { "a" },
            short
        );
        let mut c = n.walk();
        for (i, ch) in n.children(&mut c).enumerate() {
            let f = n.field_name_for_child(i as u32);
            walk(ch, src, depth + 1, f);
        }
    }
    walk(t.root_node(), &src, 0, None);
}
