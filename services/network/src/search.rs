//! Stop-name search keys: one normalisation for the keys built at import and
//! for the queries, so 天文館, てんもんかん, テンモンカン, ﾃﾝﾓﾝｶﾝ, tenmonkan,
//! "Tenmonkan" and "Tenmonkan-dōri" all meet the stop 天文館通.
//!
//! [`normalize`]: Unicode NFKC (full-width Latin and half-width kana become
//! ordinary), lower case, katakana → hiragana, macron and circumflex vowels →
//! plain vowels, everything that is not a letter or a digit removed (spaces,
//! hyphens, dots, brackets), and in Latin text the long vowels folded
//! (`oo`, `ou` → `o`, `uu` → `u`), so Hepburn with or without macrons and
//! wāpuro spellings (Chuo, Chūō, Chuuou) give the same key.
//!
//! [`kana_to_romaji`]: Hepburn romanisation of a kana reading, so romaji
//! queries work even where a feed has no English name.
use unicode_normalization::UnicodeNormalization;

/// The search key of a name or a query.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().flat_map(char::to_lowercase) {
        let c = plain_vowel(katakana_to_hiragana(c));
        if !c.is_alphanumeric() {
            continue;
        }
        if c.is_ascii_alphabetic() {
            let last = out.chars().last();
            let long_vowel = matches!((last, c), (Some('o'), 'o' | 'u') | (Some('u'), 'u'));
            if long_vowel {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Katakana (ァ..ヶ) as hiragana; any other character unchanged.
pub fn katakana_to_hiragana(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

fn plain_vowel(c: char) -> char {
    match c {
        'ā' | 'â' | 'à' | 'á' | 'ä' => 'a',
        'ī' | 'î' | 'ì' | 'í' | 'ï' => 'i',
        'ū' | 'û' | 'ù' | 'ú' | 'ü' => 'u',
        'ē' | 'ê' | 'è' | 'é' | 'ë' => 'e',
        'ō' | 'ô' | 'ò' | 'ó' | 'ö' => 'o',
        _ => c,
    }
}

/// True when `text` is made of kana only (hiragana, katakana, the long-vowel
/// mark), ignoring spaces: such a name can be romanised without a reading.
pub fn is_kana(text: &str) -> bool {
    let mut any = false;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let c = katakana_to_hiragana(c);
        if !(('\u{3041}'..='\u{3096}').contains(&c) || c == 'ー') {
            return false;
        }
        any = true;
    }
    any
}

/// Hepburn romaji of a kana text (hiragana or katakana), without macrons:
/// とおり → toori, しんやしき → shinyashiki, きゃ → kya, っ doubles the next
/// consonant (っち → tchi). Characters that are not kana pass through.
pub fn kana_to_romaji(kana: &str) -> String {
    let chars: Vec<char> = kana.chars().map(katakana_to_hiragana).collect();
    let mut out = String::new();
    let mut geminate = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        let mut syllable = match c {
            'っ' => {
                geminate = true;
                continue;
            }
            'ー' => {
                if let Some(v) = out.chars().last().filter(|v| "aiueo".contains(*v)) {
                    out.push(v);
                }
                continue;
            }
            _ => match kana_syllable(c) {
                Some(s) => s.to_owned(),
                None => {
                    out.push(c);
                    continue;
                }
            },
        };
        // Contracted sounds (拗音): き + ゃ → kya, し + ゃ → sha.
        if let Some(&small) = chars.get(i)
            && let Some(vowel) = small_y(small)
            && syllable.ends_with('i')
            && syllable.len() > 1
        {
            syllable.pop();
            if !(syllable.ends_with("sh") || syllable.ends_with("ch") || syllable.ends_with('j')) {
                syllable.push('y');
            }
            syllable.push(vowel);
            i += 1;
        }
        if geminate {
            geminate = false;
            if let Some(first) = syllable.chars().next().filter(|f| !"aiueon".contains(*f)) {
                out.push(if syllable.starts_with("ch") {
                    't'
                } else {
                    first
                });
            }
        }
        out.push_str(&syllable);
    }
    out
}

fn small_y(c: char) -> Option<char> {
    match c {
        'ゃ' => Some('a'),
        'ゅ' => Some('u'),
        'ょ' => Some('o'),
        _ => None,
    }
}

fn kana_syllable(c: char) -> Option<&'static str> {
    Some(match c {
        'あ' | 'ぁ' => "a",
        'い' | 'ぃ' | 'ゐ' => "i",
        'う' | 'ぅ' => "u",
        'え' | 'ぇ' | 'ゑ' => "e",
        'お' | 'ぉ' | 'を' => "o",
        'か' | 'ゕ' => "ka",
        'き' => "ki",
        'く' => "ku",
        'け' | 'ゖ' => "ke",
        'こ' => "ko",
        'が' => "ga",
        'ぎ' => "gi",
        'ぐ' => "gu",
        'げ' => "ge",
        'ご' => "go",
        'さ' => "sa",
        'し' => "shi",
        'す' => "su",
        'せ' => "se",
        'そ' => "so",
        'ざ' => "za",
        'じ' | 'ぢ' => "ji",
        'ず' | 'づ' => "zu",
        'ぜ' => "ze",
        'ぞ' => "zo",
        'た' => "ta",
        'ち' => "chi",
        'つ' => "tsu",
        'て' => "te",
        'と' => "to",
        'だ' => "da",
        'で' => "de",
        'ど' => "do",
        'な' => "na",
        'に' => "ni",
        'ぬ' => "nu",
        'ね' => "ne",
        'の' => "no",
        'は' => "ha",
        'ひ' => "hi",
        'ふ' => "fu",
        'へ' => "he",
        'ほ' => "ho",
        'ば' => "ba",
        'び' => "bi",
        'ぶ' => "bu",
        'べ' => "be",
        'ぼ' => "bo",
        'ぱ' => "pa",
        'ぴ' => "pi",
        'ぷ' => "pu",
        'ぺ' => "pe",
        'ぽ' => "po",
        'ま' => "ma",
        'み' => "mi",
        'む' => "mu",
        'め' => "me",
        'も' => "mo",
        'や' | 'ゃ' => "ya",
        'ゆ' | 'ゅ' => "yu",
        'よ' | 'ょ' => "yo",
        'ら' => "ra",
        'り' => "ri",
        'る' => "ru",
        'れ' => "re",
        'ろ' => "ro",
        'わ' | 'ゎ' => "wa",
        'ん' => "n",
        'ゔ' => "vu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romaji_of_readings() {
        assert_eq!(kana_to_romaji("てんもんかんどおり"), "tenmonkandoori");
        assert_eq!(kana_to_romaji("しんやしき"), "shinyashiki");
        assert_eq!(kana_to_romaji("にけんぢゃや"), "nikenjaya");
        assert_eq!(kana_to_romaji("きしゃば"), "kishaba");
        assert_eq!(kana_to_romaji("がっこう"), "gakkou");
        assert_eq!(kana_to_romaji("いっちょうめ"), "itchoume");
        assert_eq!(kana_to_romaji("カゴシマチュウオウ"), "kagoshimachuuou");
    }

    #[test]
    fn keys_meet() {
        let key = normalize("天文館通");
        assert!(key.starts_with(&normalize("天文館")));
        assert_eq!(normalize("テンモンカン"), normalize("てんもんかん"));
        assert_eq!(normalize("ﾃﾝﾓﾝｶﾝ"), "てんもんかん");
        assert_eq!(normalize("Tenmonkan-dōri"), normalize("tenmonkandoori"));
        assert_eq!(normalize("ＴＥＮＭＯＮＫＡＮ"), "tenmonkan");
        assert_eq!(normalize("Kagoshima-Chūō"), normalize("kagoshima chuuou"));
        assert_eq!(normalize("郡元(南側)"), "郡元南側");
        assert!(is_kana("てんもん カン"));
        assert!(!is_kana("天文館"));
    }
}
