//! Property tests of the key format: generated keys always parse, and every single
//! character change is caught offline.

use auren_auth::{KeyFormat, CHECKSUM_CHARS, RANDOM_CHARS};
use proptest::prelude::*;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_keys_always_parse(prefix in "[a-z]{1,10}_") {
        let format = KeyFormat::with_prefix(prefix).expect("valid prefix");
        let key = format.generate().expect("random");
        let expected_len = format.prefix().len() + RANDOM_CHARS + CHECKSUM_CHARS;
        prop_assert_eq!(key.expose_secret().len(), expected_len);
        prop_assert_eq!(format.parse(key.expose_secret()), Ok(key));
    }

    #[test]
    fn any_single_character_change_is_detected(
        position in 0usize..(6 + RANDOM_CHARS + CHECKSUM_CHARS),
        replacement in any::<char>(),
        alphabet_index in 0usize..62,
        from_alphabet in any::<bool>(),
    ) {
        let format = KeyFormat::default();
        let key = format.generate().expect("random");
        let mut chars: Vec<char> = key.expose_secret().chars().collect();
        let new = if from_alphabet { char::from(ALPHABET[alphabet_index]) } else { replacement };
        prop_assume!(chars[position] != new);
        chars[position] = new;
        let changed: String = chars.into_iter().collect();
        prop_assert!(format.parse(&changed).is_err(), "{} was accepted", changed);
    }
}
