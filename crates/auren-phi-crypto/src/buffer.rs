//! The one buffer a value is sealed in or opened in, laid out as the payload of the stored
//! form, `nonce || plaintext or ciphertext || tag`, and wiped on drop while it may hold
//! plaintext.
//!
//! Sealing serializes the value straight after room for the nonce, seals in place and
//! appends the tag, so a value costs one buffer; opening decodes the payload into one
//! buffer and opens it in place.

use std::io;

use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

use crate::error::PhiError;
use crate::sealed::TAG_LEN;

/// Room for values up to this many serialized bytes comes with the first allocation.
const FIRST_PLAINTEXT_ROOM: usize = 32;

/// The longest text or byte string `ciborium` decodes through its scratch space (its own
/// default); longer ones are decoded in chunks of that size.
const MAX_SCRATCH: usize = 4096;

/// Scratch space for decoding kept on the stack, for plaintexts up to this length.
const INLINE_SCRATCH: usize = 64;

/// A value on its way to being sealed: room for the nonce, then the plaintext, with room
/// for the tag reserved. Wiped on drop.
pub(crate) struct SealingBuffer {
    bytes: Zeroizing<Vec<u8>>,
}

impl SealingBuffer {
    fn with_room(plaintext_len: usize) -> Self {
        let mut bytes = Zeroizing::new(Vec::with_capacity(NONCE_LEN + plaintext_len + TAG_LEN));
        bytes.extend_from_slice(&[0; NONCE_LEN]);
        Self { bytes }
    }

    /// `value` serialized as CBOR (`ciborium`).
    ///
    /// # Errors
    ///
    /// [`PhiError::Encode`] when `value` cannot be serialized.
    pub(crate) fn serialize<T>(value: &T) -> Result<Self, PhiError>
    where
        T: Serialize + ?Sized,
    {
        let mut buffer = Self::with_room(FIRST_PLAINTEXT_ROOM);
        ciborium::into_writer(value, &mut buffer).map_err(|_| PhiError::Encode)?;
        Ok(buffer)
    }

    /// A copy of `plaintext`, already serialized.
    pub(crate) fn with_plaintext(plaintext: &[u8]) -> Self {
        let mut buffer = Self::with_room(plaintext.len());
        buffer.bytes.extend_from_slice(plaintext);
        buffer
    }

    /// Seals the plaintext in place under `key` with a fresh random nonce from `random`
    /// and the associated data `aad`, and returns `nonce || ciphertext || tag`.
    ///
    /// The bytes returned need no wiping, so they leave the zeroizing wrapper; on an error
    /// the buffer is wiped as it drops.
    ///
    /// # Errors
    ///
    /// [`PhiError::Random`] when the system random generator fails, [`PhiError::Crypto`]
    /// when `ring` refuses to seal (a value beyond what AES-GCM seals in one message).
    pub(crate) fn seal(
        mut self,
        key: &LessSafeKey,
        random: &SystemRandom,
        aad: &[u8],
    ) -> Result<Vec<u8>, PhiError> {
        let (nonce, plaintext) = self.bytes.split_at_mut(NONCE_LEN);
        random.fill(nonce).map_err(|_| PhiError::Random)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| PhiError::Crypto)?;

        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), plaintext)
            .map_err(|_| PhiError::Crypto)?;
        self.bytes.extend_from_slice(tag.as_ref());
        Ok(std::mem::take(&mut *self.bytes))
    }

    /// Makes room for `more` plaintext bytes and the tag. A buffer that must grow moves to
    /// a new allocation and wipes the old one, so no copy of the plaintext is left behind
    /// in freed memory (as a plain `Vec` growing would leave it).
    fn reserve(&mut self, more: usize) {
        let needed = self.bytes.len() + more + TAG_LEN;
        if needed <= self.bytes.capacity() {
            return;
        }

        let capacity = needed.max(2 * self.bytes.capacity());
        let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
        grown.extend_from_slice(&self.bytes);
        self.bytes = grown;
    }
}

impl io::Write for SealingBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.reserve(data.len());
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens `payload` (`nonce || ciphertext || tag`) in place under `key` and `aad`, and
/// leaves only the plaintext in it.
///
/// # Errors
///
/// [`PhiError::WrongContextOrTampered`] when the tag does not verify.
pub(crate) fn open_in_place(
    payload: &mut Zeroizing<Vec<u8>>,
    key: &LessSafeKey,
    aad: &[u8],
) -> Result<(), PhiError> {
    let wrong = |_| PhiError::WrongContextOrTampered;
    let nonce = payload
        .get(..NONCE_LEN)
        .ok_or(PhiError::WrongContextOrTampered)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(wrong)?;

    // The plaintext moves to the front; the bytes after it stay in the spare capacity,
    // which the zeroizing wrapper wipes as well.
    let plain_len = key
        .open_within(nonce, Aad::from(aad), payload.as_mut_slice(), NONCE_LEN..)
        .map_err(wrong)?
        .len();
    payload.truncate(plain_len);
    Ok(())
}

/// `plaintext` deserialized from CBOR as a `T`.
///
/// `ciborium` decodes text and byte strings through a scratch buffer that it zeroes first
/// (4 KiB by default, most of the cost of opening a small value). No string in the
/// plaintext is longer than the plaintext, so a scratch buffer of its length (capped at
/// the default) decodes exactly what the default does. The scratch is wiped afterwards:
/// it held plaintext.
///
/// # Errors
///
/// [`PhiError::Decode`] when `plaintext` is not the CBOR of a `T`.
pub(crate) fn deserialize<T: DeserializeOwned>(plaintext: &[u8]) -> Result<T, PhiError> {
    let decode = |scratch: &mut [u8]| {
        let value = ciborium::de::from_reader_with_buffer(plaintext, &mut *scratch);
        scratch.zeroize();
        value.map_err(|_| PhiError::Decode {
            expected: std::any::type_name::<T>(),
        })
    };

    if plaintext.len() <= INLINE_SCRATCH {
        decode(&mut [0; INLINE_SCRATCH])
    } else {
        decode(&mut vec![0; plaintext.len().min(MAX_SCRATCH)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::aead::{UnboundKey, AES_256_GCM};

    fn key() -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[3; 32]).expect("key"))
    }

    fn cbor<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        let mut bytes = Vec::new();
        ciborium::into_writer(value, &mut bytes).expect("cbor");
        bytes
    }

    #[test]
    fn serializing_writes_what_ciborium_writes_after_the_nonce() {
        let long = "x".repeat(300);
        let values: [&dyn erased::Value; 4] = [&72_u16, &"after a run", &-0.5_f64, &long];
        for value in values {
            let buffer = value.buffer();
            assert_eq!(&buffer.bytes[..NONCE_LEN], &[0; NONCE_LEN]);
            assert_eq!(&buffer.bytes[NONCE_LEN..], value.cbor().as_slice());
            assert!(buffer.bytes.capacity() >= buffer.bytes.len() + TAG_LEN);
        }
    }

    #[test]
    fn sealed_buffers_open_in_place() {
        let random = SystemRandom::new();
        let plaintext = cbor("résumé");
        let sealed = SealingBuffer::with_plaintext(&plaintext)
            .seal(&key(), &random, b"aad")
            .expect("seal");
        assert_eq!(sealed.len(), NONCE_LEN + plaintext.len() + TAG_LEN);

        let mut opened = Zeroizing::new(sealed.clone());
        open_in_place(&mut opened, &key(), b"aad").expect("open");
        assert_eq!(opened.as_slice(), plaintext.as_slice());
        assert_eq!(deserialize::<String>(&opened).expect("string"), "résumé");

        let mut other_aad = Zeroizing::new(sealed);
        let wrong = open_in_place(&mut other_aad, &key(), b"aae");
        assert!(matches!(wrong, Err(PhiError::WrongContextOrTampered)));
    }

    #[test]
    fn strings_of_every_scratch_size_decode() {
        for len in [0, 1, 23, 24, 60, 64, 65, 255, 256, 4095, 4096, 4097, 10_000] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(deserialize::<String>(&cbor(&text)).expect("string"), text);
        }
        let wrong = deserialize::<u16>(&cbor("72"));
        assert!(matches!(wrong, Err(PhiError::Decode { .. })));
    }

    /// Lets the test above loop over values of different types.
    mod erased {
        use super::*;

        pub(super) trait Value {
            fn buffer(&self) -> SealingBuffer;
            fn cbor(&self) -> Vec<u8>;
        }

        impl<T: Serialize + ?Sized> Value for T {
            fn buffer(&self) -> SealingBuffer {
                SealingBuffer::serialize(self).expect("serialize")
            }

            fn cbor(&self) -> Vec<u8> {
                cbor(self)
            }
        }
    }
}
