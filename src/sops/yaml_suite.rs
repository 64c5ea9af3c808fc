//! The YAML reader (yaml.rs) against the block-scalar and comment cases of
//! the YAML test suite: the values it reads, the errors it gives, rewriting
//! every leaf of each case, and emit's output reading back.
//!
//! Generated from the YAML test suite (github.com/yaml/yaml-test-suite,
//! commit ccfa74e5, MIT licence, (c) 2016-2020 Ingy döt Net): every case
//! tagged `literal`, `folded` or `comment`, its visual markers (␣ —» ↵ ∎ ←)
//! turned into the characters they stand for. `json` is the expected value
//! (compact JSON); `refuse` the error this reader gives on purpose.

use super::yaml::{self, YamlError, COMMENT_KEY};
use super::{Node, Plain};

#[rustfmt::skip]
mod cases {
    pub struct Case {
        pub id: &'static str,
        pub name: &'static str,
        pub yaml: &'static str,
        pub fail: bool,
        pub refuse: Option<&'static str>,
        pub json: Option<&'static str>,
    }

    pub const CASES: &[Case] = &[
        Case {
            id: "2G84-00",
            name: "Literal modifers",
            yaml: "--- |0\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "2G84-01",
            name: "Literal modifers",
            yaml: "--- |10\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "2G84-02",
            name: "Literal modifers",
            yaml: "--- |1-",
            fail: false,
            refuse: None,
            json: Some("\"\""),
        },
        Case {
            id: "2G84-03",
            name: "Literal modifers",
            yaml: "--- |1+",
            fail: false,
            refuse: None,
            json: Some("\"\""),
        },
        Case {
            id: "4Q9F",
            name: "Folded Block Scalar [1.3]",
            yaml: "--- >\n ab\n cd\n \n ef\n\n\n gh\n",
            fail: false,
            refuse: None,
            json: Some("\"ab cd\\nef\\n\\ngh\\n\""),
        },
        Case {
            id: "4QFQ",
            name: "Spec Example 8.2. Block Indentation Indicator [1.3]",
            yaml: "- |\n detected\n- >\n \n  \n  # detected\n- |1\n  explicit\n- >\n detected\n",
            fail: false,
            refuse: None,
            json: Some("[\"detected\\n\",\"\\n\\n# detected\\n\",\" explicit\\n\",\"detected\\n\"]"),
        },
        Case {
            id: "4WA9",
            name: "Literal scalars",
            yaml: "- aaa: |2\n    xxx\n  bbb: |\n    xxx\n",
            fail: false,
            refuse: None,
            json: Some("[{\"aaa\":\"xxx\\n\",\"bbb\":\"xxx\\n\"}]"),
        },
        Case {
            id: "4ZYM",
            name: "Spec Example 6.4. Line Prefixes",
            yaml: "plain: text\n  lines\nquoted: \"text\n  \tlines\"\nblock: |\n  text\n   \tlines\n",
            fail: false,
            refuse: None,
            json: Some("{\"plain\":\"text lines\",\"quoted\":\"text lines\",\"block\":\"text\\n \\tlines\\n\"}"),
        },
        Case {
            id: "5BVJ",
            name: "Spec Example 5.7. Block Scalar Indicators",
            yaml: "literal: |\n  some\n  text\nfolded: >\n  some\n  text\n",
            fail: false,
            refuse: None,
            json: Some("{\"literal\":\"some\\ntext\\n\",\"folded\":\"some text\\n\"}"),
        },
        Case {
            id: "5GBF",
            name: "Spec Example 6.5. Empty Lines",
            yaml: "Folding:\n  \"Empty line\n   \t\n  as a line feed\"\nChomping: |\n  Clipped empty lines\n \n\n",
            fail: false,
            refuse: None,
            json: Some("{\"Folding\":\"Empty line\\nas a line feed\",\"Chomping\":\"Clipped empty lines\\n\"}"),
        },
        Case {
            id: "5LLU",
            name: "Block scalar with wrong indented line after spaces only",
            yaml: "block scalar: >\n \n  \n   \n invalid\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "5NYZ",
            name: "Spec Example 6.9. Separated Comment",
            yaml: "key:    # Comment\n  value\n",
            fail: false,
            refuse: None,
            json: Some("{\"key\":\"value\"}"),
        },
        Case {
            id: "5WE3",
            name: "Spec Example 8.17. Explicit Block Mapping Entries",
            yaml: "? explicit key # Empty value\n? |\n  block key\n: - one # Explicit compact\n  - two # block value\n",
            fail: false,
            refuse: None,
            json: Some("{\"explicit key\":null,\"block key\\n\":[\"one\",\"two\"]}"),
        },
        Case {
            id: "6FWR",
            name: "Block Scalar Keep",
            yaml: "--- |+\n ab\n \n  \n...\n",
            fail: false,
            refuse: None,
            json: Some("\"ab\\n\\n \\n\""),
        },
        Case {
            id: "6HB6",
            name: "Spec Example 6.1. Indentation Spaces",
            yaml: "  # Leading comment line spaces are\n   # neither content nor indentation.\n    \nNot indented:\n By one space: |\n    By four\n      spaces\n Flow style: [    # Leading spaces\n   By two,        # in flow style\n  Also by two,    # are neither\n  \tStill by two   # content nor\n    ]             # indentation.\n",
            fail: false,
            refuse: None,
            json: Some("{\"Not indented\":{\"By one space\":\"By four\\n  spaces\\n\",\"Flow style\":[\"By two\",\"Also by two\",\"Still by two\"]}}"),
        },
        Case {
            id: "6JQW",
            name: "Spec Example 2.13. In literals, newlines are preserved",
            yaml: "# ASCII Art\n--- |\n  \\//||\\/||\n  // ||  ||__\n",
            fail: false,
            refuse: None,
            json: Some("\"\\\\//||\\\\/||\\n// ||  ||__\\n\""),
        },
        Case {
            id: "6VJK",
            name: "Spec Example 2.15. Folded newlines are preserved for \"more indented\" and blank lines",
            yaml: ">\n Sammy Sosa completed another\n fine season with great stats.\n\n   63 Home Runs\n   0.288 Batting Average\n\n What a year!\n",
            fail: false,
            refuse: None,
            json: Some("\"Sammy Sosa completed another fine season with great stats.\\n\\n  63 Home Runs\\n  0.288 Batting Average\\n\\nWhat a year!\\n\""),
        },
        Case {
            id: "735Y",
            name: "Spec Example 8.20. Block Node Types",
            yaml: "-\n  \"flow in block\"\n- >\n Block scalar\n- !!map # Block collection\n  foo : bar\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
        Case {
            id: "753E",
            name: "Block Scalar Strip [1.3]",
            yaml: "--- |-\n ab\n \n \n...\n",
            fail: false,
            refuse: None,
            json: Some("\"ab\""),
        },
        Case {
            id: "7BMT",
            name: "Node and Mapping Key Anchors [1.3]",
            yaml: "---\ntop1: &node1\n  &k1 key1: one\ntop2: &node2 # comment\n  key2: two\ntop3:\n  &k3 key3: three\ntop4: &node4\n  &k4 key4: four\ntop5: &node5\n  key5: five\ntop6: &val6\n  six\ntop7:\n  &val7 seven\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
        Case {
            id: "7T8X",
            name: "Spec Example 8.10. Folded Lines - 8.13. Final Empty Lines",
            yaml: ">\n\n folded\n line\n\n next\n line\n   * bullet\n\n   * list\n   * lines\n\n last\n line\n\n# Comment\n",
            fail: false,
            refuse: None,
            json: Some("\"\\nfolded line\\nnext line\\n  * bullet\\n\\n  * list\\n  * lines\\n\\nlast line\\n\""),
        },
        Case {
            id: "7TMG",
            name: "Comment in flow sequence before comma",
            yaml: "---\n[ word1\n# comment\n, word2]\n",
            fail: false,
            refuse: None,
            json: Some("[\"word1\",\"word2\"]"),
        },
        Case {
            id: "8G76",
            name: "Spec Example 6.10. Comment Lines",
            yaml: "  # Comment\n   \n\n\n",
            fail: false,
            refuse: None,
            json: Some("null"),
        },
        Case {
            id: "8XDJ",
            name: "Comment in plain multiline value",
            yaml: "key: word1\n#  xxx\n  word2\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "93WF",
            name: "Spec Example 6.6. Line Folding [1.3]",
            yaml: "--- >-\n  trimmed\n  \n \n\n  as\n  space\n",
            fail: false,
            refuse: None,
            json: Some("\"trimmed\\n\\n\\nas space\""),
        },
        Case {
            id: "96L6",
            name: "Spec Example 2.14. In the folded scalars, newlines become spaces",
            yaml: "--- >\n  Mark McGwire's\n  year was crippled\n  by a knee injury.\n",
            fail: false,
            refuse: None,
            json: Some("\"Mark McGwire's year was crippled by a knee injury.\\n\""),
        },
        Case {
            id: "96NN-00",
            name: "Leading tab content in literals",
            yaml: "foo: |-\n \tbar\n",
            fail: false,
            refuse: None,
            json: Some("{\"foo\":\"\\tbar\"}"),
        },
        Case {
            id: "96NN-01",
            name: "Leading tab content in literals",
            yaml: "foo: |-\n \tbar",
            fail: false,
            refuse: None,
            json: Some("{\"foo\":\"\\tbar\"}"),
        },
        Case {
            id: "98YD",
            name: "Spec Example 5.5. Comment Indicator",
            yaml: "# Comment only.\n",
            fail: false,
            refuse: None,
            json: Some("null"),
        },
        Case {
            id: "9JBA",
            name: "Invalid comment after end of flow sequence",
            yaml: "---\n[ a, b, c, ]#invalid\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "A6F9",
            name: "Spec Example 8.4. Chomping Final Line Break",
            yaml: "strip: |-\n  text\nclip: |\n  text\nkeep: |+\n  text\n",
            fail: false,
            refuse: None,
            json: Some("{\"strip\":\"text\",\"clip\":\"text\\n\",\"keep\":\"text\\n\"}"),
        },
        Case {
            id: "B3HG",
            name: "Spec Example 8.9. Folded Scalar [1.3]",
            yaml: "--- >\n folded\n text\n\n\n",
            fail: false,
            refuse: None,
            json: Some("\"folded text\\n\""),
        },
        Case {
            id: "BF9H",
            name: "Trailing comment in multiline plain scalar",
            yaml: "---\nplain: a\n       b # end of scalar\n       c\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "CML9",
            name: "Missing comma in flow",
            yaml: "key: [ word1\n#  xxx\n  word2 ]\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "CVW2",
            name: "Invalid comment after comma",
            yaml: "---\n[ a, b, c,#invalid\n]\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "D83L",
            name: "Block scalar indicator order",
            yaml: "- |2-\n  explicit indent and chomp\n- |-2\n  chomp and explicit indent\n",
            fail: false,
            refuse: None,
            json: Some("[\"explicit indent and chomp\",\"chomp and explicit indent\"]"),
        },
        Case {
            id: "DC7X",
            name: "Various trailing tabs",
            yaml: "a: b\t\nseq:\t\n - a\t\nc: d\t#X\n",
            fail: false,
            refuse: None,
            json: Some("{\"a\":\"b\",\"seq\":[\"a\"],\"c\":\"d\"}"),
        },
        Case {
            id: "DK3J",
            name: "Zero indented block scalar with line that looks like a comment",
            yaml: "--- >\nline1\n# no comment\nline3\n",
            fail: false,
            refuse: None,
            json: Some("\"line1 # no comment line3\\n\""),
        },
        Case {
            id: "DWX9",
            name: "Spec Example 8.8. Literal Content",
            yaml: "|\n \n  \n  literal\n   \n  \n  text\n\n # Comment\n",
            fail: false,
            refuse: None,
            json: Some("\"\\n\\nliteral\\n \\n\\ntext\\n\""),
        },
        Case {
            id: "F6MC",
            name: "More indented lines at the beginning of folded block scalars",
            yaml: "---\na: >2\n   more indented\n  regular\nb: >2\n\n\n   more indented\n  regular\n",
            fail: false,
            refuse: None,
            json: Some("{\"a\":\" more indented\\nregular\\n\",\"b\":\"\\n\\n more indented\\nregular\\n\"}"),
        },
        Case {
            id: "F8F9",
            name: "Spec Example 8.5. Chomping Trailing Lines",
            yaml: " # Strip\n  # Comments:\nstrip: |-\n  # text\n  \n # Clip\n  # comments:\n\nclip: |\n  # text\n \n # Keep\n  # comments:\n\nkeep: |+\n  # text\n\n # Trail\n  # comments.\n",
            fail: false,
            refuse: None,
            json: Some("{\"strip\":\"# text\",\"clip\":\"# text\\n\",\"keep\":\"# text\\n\\n\"}"),
        },
        Case {
            id: "FP8R",
            name: "Zero indented block scalar",
            yaml: "--- >\nline1\nline2\nline3\n",
            fail: false,
            refuse: None,
            json: Some("\"line1 line2 line3\\n\""),
        },
        Case {
            id: "G992",
            name: "Spec Example 8.9. Folded Scalar",
            yaml: ">\n folded\n text\n\n\n",
            fail: false,
            refuse: None,
            json: Some("\"folded text\\n\""),
        },
        Case {
            id: "GDY7",
            name: "Comment that looks like a mapping key",
            yaml: "key: value\nthis is #not a: key\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "H2RW",
            name: "Blank lines",
            yaml: "foo: 1\n\nbar: 2\n    \ntext: |\n  a\n    \n  b\n\n  c\n \n  d\n",
            fail: false,
            refuse: None,
            json: Some("{\"foo\":1,\"bar\":2,\"text\":\"a\\n  \\nb\\n\\nc\\n\\nd\\n\"}"),
        },
        Case {
            id: "HMK4",
            name: "Spec Example 2.16. Indentation determines scope",
            yaml: "name: Mark McGwire\naccomplishment: >\n  Mark set a major league\n  home run record in 1998.\nstats: |\n  65 Home Runs\n  0.278 Batting Average\n",
            fail: false,
            refuse: None,
            json: Some("{\"name\":\"Mark McGwire\",\"accomplishment\":\"Mark set a major league home run record in 1998.\\n\",\"stats\":\"65 Home Runs\\n0.278 Batting Average\\n\"}"),
        },
        Case {
            id: "J9HZ",
            name: "Spec Example 2.9. Single Document with Two Comments",
            yaml: "---\nhr: # 1998 hr ranking\n  - Mark McGwire\n  - Sammy Sosa\nrbi:\n  # 1998 rbi ranking\n  - Sammy Sosa\n  - Ken Griffey\n",
            fail: false,
            refuse: None,
            json: Some("{\"hr\":[\"Mark McGwire\",\"Sammy Sosa\"],\"rbi\":[\"Sammy Sosa\",\"Ken Griffey\"]}"),
        },
        Case {
            id: "JEF9-00",
            name: "Trailing whitespace in streams",
            yaml: "- |+\n\n\n",
            fail: false,
            refuse: None,
            json: Some("[\"\\n\\n\"]"),
        },
        Case {
            id: "JEF9-01",
            name: "Trailing whitespace in streams",
            yaml: "- |+\n   \n",
            fail: false,
            refuse: None,
            json: Some("[\"\\n\"]"),
        },
        Case {
            id: "JEF9-02",
            name: "Trailing whitespace in streams",
            yaml: "- |+\n   ",
            fail: false,
            refuse: None,
            json: Some("[\"\\n\"]"),
        },
        Case {
            id: "K3WX",
            name: "Colon and adjacent value after comment on next line",
            yaml: "---\n{ \"foo\" # comment\n  :bar }\n",
            fail: false,
            refuse: None,
            json: Some("{\"foo\":\"bar\"}"),
        },
        Case {
            id: "K527",
            name: "Spec Example 6.6. Line Folding",
            yaml: ">-\n  trimmed\n  \n \n\n  as\n  space\n",
            fail: false,
            refuse: None,
            json: Some("\"trimmed\\n\\n\\nas space\""),
        },
        Case {
            id: "K858",
            name: "Spec Example 8.6. Empty Scalar Chomping",
            yaml: "strip: >-\n\nclip: >\n\nkeep: |+\n\n",
            fail: false,
            refuse: None,
            json: Some("{\"strip\":\"\",\"clip\":\"\",\"keep\":\"\\n\"}"),
        },
        Case {
            id: "L383",
            name: "Two scalar docs with trailing comments",
            yaml: "--- foo  # comment\n--- foo  # comment\n",
            fail: false,
            refuse: Some("several documents"),
            json: None,
        },
        Case {
            id: "M29M",
            name: "Literal Block Scalar",
            yaml: "a: |\n ab\n \n cd\n ef\n \n\n...\n",
            fail: false,
            refuse: None,
            json: Some("{\"a\":\"ab\\n\\ncd\\nef\\n\"}"),
        },
        Case {
            id: "M5C3",
            name: "Spec Example 8.21. Block Scalar Nodes",
            yaml: "literal: |2\n  value\nfolded:\n   !foo\n  >1\n value\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
        Case {
            id: "M9B4",
            name: "Spec Example 8.7. Literal Scalar",
            yaml: "|\n literal\n \ttext\n\n\n",
            fail: false,
            refuse: None,
            json: Some("\"literal\\n\\ttext\\n\""),
        },
        Case {
            id: "MJS9",
            name: "Spec Example 6.7. Block Folding",
            yaml: ">\n  foo \n \n  \t bar\n\n  baz\n",
            fail: false,
            refuse: None,
            json: Some("\"foo \\n\\n\\t bar\\n\\nbaz\\n\""),
        },
        Case {
            id: "MYW6",
            name: "Block Scalar Strip",
            yaml: "|-\n ab\n \n \n...\n",
            fail: false,
            refuse: None,
            json: Some("\"ab\""),
        },
        Case {
            id: "MZX3",
            name: "Non-Specific Tags on Scalars",
            yaml: "- plain\n- \"double quoted\"\n- 'single quoted'\n- >\n  block\n- plain again\n",
            fail: false,
            refuse: None,
            json: Some("[\"plain\",\"double quoted\",\"single quoted\",\"block\\n\",\"plain again\"]"),
        },
        Case {
            id: "P2AD",
            name: "Spec Example 8.1. Block Scalar Header",
            yaml: "- | # Empty header↓\n literal\n- >1 # Indentation indicator↓\n  folded\n- |+ # Chomping indicator↓\n keep\n\n- >1- # Both indicators↓\n  strip\n",
            fail: false,
            refuse: None,
            json: Some("[\"literal\\n\",\" folded\\n\",\"keep\\n\\n\",\" strip\"]"),
        },
        Case {
            id: "P94K",
            name: "Spec Example 6.11. Multi-Line Comments",
            yaml: "key:    # Comment\n        # lines\n  value\n\n\n",
            fail: false,
            refuse: None,
            json: Some("{\"key\":\"value\"}"),
        },
        Case {
            id: "Q9WF",
            name: "Spec Example 6.12. Separation Spaces",
            yaml: "{ first: Sammy, last: Sosa }:\n# Statistics:\n  hr:  # Home runs\n     65\n  avg: # Average\n   0.278\n",
            fail: false,
            refuse: Some("only scalars can be mapping keys"),
            json: None,
        },
        Case {
            id: "QT73",
            name: "Comment and document-end marker",
            yaml: "# comment\n...\n",
            fail: false,
            refuse: None,
            json: Some("null"),
        },
        Case {
            id: "R4YG",
            name: "Spec Example 8.2. Block Indentation Indicator",
            yaml: "- |\n detected\n- >\n \n  \n  # detected\n- |1\n  explicit\n- >\n \t\n detected\n",
            fail: false,
            refuse: None,
            json: Some("[\"detected\\n\",\"\\n\\n# detected\\n\",\" explicit\\n\",\"\\t\\ndetected\\n\"]"),
        },
        Case {
            id: "RZP5",
            name: "Various Trailing Comments [1.3]",
            yaml: "a: \"double\n  quotes\" # lala\nb: plain\n value  # lala\nc  : #lala\n  d\n? # lala\n - seq1\n: # lala\n - #lala\n  seq2\ne: &node # lala\n - x: y\nblock: > # lala\n  abcde\n",
            fail: false,
            refuse: Some("only scalars can be mapping keys"),
            json: None,
        },
        Case {
            id: "RZT7",
            name: "Spec Example 2.28. Log File",
            yaml: "---\nTime: 2001-11-23 15:01:42 -5\nUser: ed\nWarning:\n  This is an error message\n  for the log file\n---\nTime: 2001-11-23 15:02:31 -5\nUser: ed\nWarning:\n  A slightly different error\n  message.\n---\nDate: 2001-11-23 15:03:17 -5\nUser: ed\nFatal:\n  Unknown variable \"bar\"\nStack:\n  - file: TopClass.py\n    line: 23\n    code: |\n      x = MoreObject(\"345\\n\")\n  - file: MoreClass.py\n    line: 58\n    code: |-\n      foo = bar\n",
            fail: false,
            refuse: Some("several documents"),
            json: None,
        },
        Case {
            id: "S4GJ",
            name: "Invalid text after block scalar indicator",
            yaml: "---\nfolded: > first line\n  second line\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "S98Z",
            name: "Block scalar with more spaces than first content line",
            yaml: "empty block scalar: >\n \n  \n   \n # comment\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "SU5Z",
            name: "Comment without whitespace after doublequoted scalar",
            yaml: "key: \"value\"# invalid comment\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "SYW4",
            name: "Spec Example 2.2. Mapping Scalars to Scalars",
            yaml: "hr:  65    # Home runs\navg: 0.278 # Batting average\nrbi: 147   # Runs Batted In\n",
            fail: false,
            refuse: None,
            json: Some("{\"hr\":65,\"avg\":0.278,\"rbi\":147}"),
        },
        Case {
            id: "T26H",
            name: "Spec Example 8.8. Literal Content [1.3]",
            yaml: "--- |\n \n  \n  literal\n   \n  \n  text\n\n # Comment\n",
            fail: false,
            refuse: None,
            json: Some("\"\\n\\nliteral\\n \\n\\ntext\\n\""),
        },
        Case {
            id: "T5N4",
            name: "Spec Example 8.7. Literal Scalar [1.3]",
            yaml: "--- |\n literal\n \ttext\n\n\n",
            fail: false,
            refuse: None,
            json: Some("\"literal\\n\\ttext\\n\""),
        },
        Case {
            id: "TS54",
            name: "Folded Block Scalar",
            yaml: ">\n ab\n cd\n \n ef\n\n\n gh\n",
            fail: false,
            refuse: None,
            json: Some("\"ab cd\\nef\\n\\ngh\\n\""),
        },
        Case {
            id: "U3XV",
            name: "Node and Mapping Key Anchors",
            yaml: "---\ntop1: &node1\n  &k1 key1: one\ntop2: &node2 # comment\n  key2: two\ntop3:\n  &k3 key3: three\ntop4:\n  &node4\n  &k4 key4: four\ntop5:\n  &node5\n  key5: five\ntop6: &val6\n  six\ntop7:\n  &val7 seven\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
        Case {
            id: "UGM3",
            name: "Spec Example 2.27. Invoice",
            yaml: "--- !<tag:clarkevans.com,2002:invoice>\ninvoice: 34843\ndate   : 2001-01-23\nbill-to: &id001\n    given  : Chris\n    family : Dumars\n    address:\n        lines: |\n            458 Walkman Dr.\n            Suite #292\n        city    : Royal Oak\n        state   : MI\n        postal  : 48046\nship-to: *id001\nproduct:\n    - sku         : BL394D\n      quantity    : 4\n      description : Basketball\n      price       : 450.00\n    - sku         : BL4438H\n      quantity    : 1\n      description : Super Hoop\n      price       : 2392.00\ntax  : 251.42\ntotal: 4443.52\ncomments:\n    Late afternoon is best.\n    Backup contact is Nancy\n    Billsmer @ 338-4338.\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
        Case {
            id: "UT92",
            name: "Spec Example 9.4. Explicit Documents",
            yaml: "---\n{ matches\n% : 20 }\n...\n---\n# Empty\n...\n",
            fail: false,
            refuse: Some("several documents"),
            json: None,
        },
        Case {
            id: "W42U",
            name: "Spec Example 8.15. Block Sequence Entry Types",
            yaml: "- # Empty\n- |\n block node\n- - one # Compact\n  - two # sequence\n- one: two # Compact mapping\n",
            fail: false,
            refuse: None,
            json: Some("[null,\"block node\\n\",[\"one\",\"two\"],{\"one\":\"two\"}]"),
        },
        Case {
            id: "W9L4",
            name: "Literal block scalar with more spaces in first line",
            yaml: "---\nblock scalar: |\n     \n  more spaces at the beginning\n  are invalid\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "X4QW",
            name: "Comment without whitespace after block scalar indicator",
            yaml: "block: ># comment\n  scalar\n",
            fail: true,
            refuse: None,
            json: None,
        },
        Case {
            id: "X8DW",
            name: "Explicit key and value seperated by comment",
            yaml: "---\n? key\n# comment\n: value\n",
            fail: false,
            refuse: None,
            json: Some("{\"key\":\"value\"}"),
        },
        Case {
            id: "XV9V",
            name: "Spec Example 6.5. Empty Lines [1.3]",
            yaml: "Folding:\n  \"Empty line\n\n  as a line feed\"\nChomping: |\n  Clipped empty lines\n \n\n",
            fail: false,
            refuse: None,
            json: Some("{\"Folding\":\"Empty line\\nas a line feed\",\"Chomping\":\"Clipped empty lines\\n\"}"),
        },
        Case {
            id: "XW4D",
            name: "Various Trailing Comments",
            yaml: "a: \"double\n  quotes\" # lala\nb: plain\n value  # lala\nc  : #lala\n  d\n? # lala\n - seq1\n: # lala\n - #lala\n  seq2\ne:\n &node # lala\n - x: y\nblock: > # lala\n  abcde\n",
            fail: false,
            refuse: Some("only scalars can be mapping keys"),
            json: None,
        },
        Case {
            id: "Z67P",
            name: "Spec Example 8.21. Block Scalar Nodes [1.3]",
            yaml: "literal: |2\n  value\nfolded: !foo >1\n value\n",
            fail: false,
            refuse: Some("anchors, aliases and tags are not supported"),
            json: None,
        },
    ];
}

use cases::{Case, CASES};

/// A value as compact JSON, as Python's `json.dumps(v, ensure_ascii=False,
/// separators=(',', ':'))` writes it; comments are left out.
fn json(n: &Node, out: &mut String) {
    fn string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    match n {
        Node::Null => out.push_str("null"),
        Node::Leaf(Plain::Str(s)) => string(s, out),
        Node::Leaf(Plain::Int(i)) => out.push_str(&i.to_string()),
        Node::Leaf(Plain::Float(f)) => out.push_str(&format!("{f:?}")),
        Node::Leaf(Plain::Bool(b)) => out.push_str(&b.to_string()),
        Node::Leaf(Plain::Comment(_)) => unreachable!("comments are skipped"),
        Node::List(l) => {
            out.push('[');
            let items: Vec<_> = l
                .iter()
                .filter(|i| !matches!(i, Node::Leaf(Plain::Comment(_))))
                .collect();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Node::Map(m) => {
            out.push('{');
            let entries: Vec<_> = m.iter().filter(|(k, _)| k != COMMENT_KEY).collect();
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                json(v, out);
            }
            out.push('}');
        }
    }
}

fn check(c: &Case) -> Result<&'static str, String> {
    let got = yaml::parse_any(c.yaml);
    let what = format!("{} ({})", c.id, c.name);
    match (c.fail, c.refuse, got) {
        (true, _, Ok(n)) => Err(format!("{what}: invalid YAML was read as {n:?}")),
        (true, _, Err(_)) => Ok("rejected"),
        (false, Some(r), Err(e)) if e.to_string().contains(r) => Ok("refused"),
        (false, Some(r), other) => {
            Err(format!("{what}: expected the refusal `{r}`, got {other:?}"))
        }
        (false, None, Err(e)) => Err(format!("{what}: {e}")),
        (false, None, Ok(n)) => match c.json {
            None => Ok("read"),
            Some(j) => {
                let mut s = String::new();
                json(&n, &mut s);
                if s == j {
                    Ok("matched")
                } else {
                    Err(format!("{what}:\n  expected {j}\n  got      {s}"))
                }
            }
        },
    }
}

#[test]
fn reads_the_block_scalar_and_comment_cases_of_the_yaml_test_suite() {
    let mut failures = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for c in CASES {
        match check(c) {
            Ok(k) => *counts.entry(k).or_insert(0) += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 84 cases: every valid one read (58 compared with the suite's JSON),
    // every invalid one rejected, anchors/tags/several documents refused.
    assert_eq!(counts.values().sum::<usize>(), CASES.len());
    assert_eq!(counts["matched"], 58, "{counts:?}");
    assert_eq!(counts["rejected"], 14, "{counts:?}");
    assert_eq!(counts["refused"], 12, "{counts:?}");
}

/// The leaves of a tree in document order (what `rewrite` visits).
fn leaves(n: &Node, out: &mut Vec<Plain>) {
    match n {
        Node::Map(m) => m.iter().for_each(|(_, v)| leaves(v, out)),
        Node::List(l) => l.iter().for_each(|v| leaves(v, out)),
        Node::Leaf(p) => out.push(p.clone()),
        Node::Null => {}
    }
}

/// The tree with its leaves replaced, in document order.
fn replaced(n: &Node, new: &mut impl Iterator<Item = Plain>) -> Node {
    match n {
        Node::Map(m) => Node::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), replaced(v, new)))
                .collect(),
        ),
        Node::List(l) => Node::List(l.iter().map(|v| replaced(v, new)).collect()),
        Node::Leaf(_) => Node::Leaf(new.next().unwrap()),
        Node::Null => Node::Null,
    }
}

/// A new value of every kind the writer has to handle: plain, a block
/// scalar (clip and keep), quoting, another type.
fn variant(old: &Plain, i: usize) -> Plain {
    match old {
        Plain::Comment(_) => Plain::Comment(format!(" comment {i}")),
        _ => match i % 6 {
            0 => Plain::Str(format!("v{i}")),
            1 => Plain::Str(format!("multi {i}\n\nline\n")),
            2 => Plain::Str(format!("needs: quoting #{i}")),
            3 => Plain::Str(format!("kept {i}\n\n")),
            4 => Plain::Int(i as i64),
            _ => Plain::Str(format!("  lead {i}\nno final break")),
        },
    }
}

/// For every valid case whose top level is a collection: rewriting each
/// leaf to itself changes no byte; rewriting each to a new value reads
/// back as those values with the same structure; rewriting them back
/// gives the case's values again.
#[test]
fn rewrites_every_leaf_of_the_suite_cases() {
    let mut done = 0;
    for c in CASES.iter().filter(|c| !c.fail && c.refuse.is_none()) {
        let original = yaml::parse_any(c.yaml).unwrap();
        if !matches!(original, Node::Map(_) | Node::List(_)) {
            continue;
        }
        let same = yaml::rewrite_any(c.yaml, |_, p| Ok::<_, YamlError>(Some(p.clone()))).unwrap();
        assert_eq!(same, c.yaml, "{}", c.id);

        let mut old = Vec::new();
        leaves(&original, &mut old);
        // Each leaf gets every kind of new value, one rewrite after another.
        for shift in 0..6 {
            let new: Vec<Plain> = old
                .iter()
                .enumerate()
                .map(|(i, p)| variant(p, i + shift))
                .collect();
            let mut it = new.iter().cloned();
            let changed = yaml::rewrite_any(c.yaml, |_, _| Ok::<_, YamlError>(it.next()))
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", c.id, c.yaml));
            let expected = replaced(&original, &mut new.iter().cloned());
            let read =
                yaml::parse_any(&changed).unwrap_or_else(|e| panic!("{}: {e}\n{changed}", c.id));
            assert_eq!(read, expected, "{}:\n{}\n---\n{changed}", c.id, c.yaml);

            let mut it = old.iter().cloned();
            let back = yaml::rewrite_any(&changed, |_, _| Ok::<_, YamlError>(it.next()))
                .unwrap_or_else(|e| panic!("{}: {e}\n{changed}", c.id));
            assert_eq!(
                yaml::parse_any(&back).unwrap(),
                original,
                "{}:\n{back}",
                c.id
            );
        }
        done += 1;
    }
    assert_eq!(done, 33);
}

/// `emit` output reads back as the same tree, for every case whose top
/// level is a mapping.
#[test]
fn emit_reads_back_for_the_suite_cases() {
    let mut done = 0;
    for c in CASES.iter().filter(|c| !c.fail && c.refuse.is_none()) {
        let Ok(n) = yaml::parse(c.yaml) else { continue };
        let text = yaml::emit(&n);
        let back = yaml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", c.id));
        assert_eq!(back, n, "{}:\n{text}", c.id);
        done += 1;
    }
    assert_eq!(done, 25);
}
