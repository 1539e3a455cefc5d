//! A reading as the stores keep it: `bpm` and `note` sealed by auren-phi-crypto, bound to
//! the reading's user and to the field name.

use auren::phi_crypto::PhiCrypto;
use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::readings::HeartRateReading;
use crate::store::StoreError;

/// The field name `bpm` values are sealed under.
pub(crate) const BPM_FIELD: &str = "bpm";
/// The field name `note` values are sealed under.
pub(crate) const NOTE_FIELD: &str = "note";

/// A heart-rate reading whose PHI is sealed; the rest is kept as is, for ordering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SealedReading {
    pub(crate) id: Ulid,
    pub(crate) user_id: String,
    pub(crate) bpm_sealed: String,
    pub(crate) note_sealed: Option<String>,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) created_at: DateTime<Utc>,
}

impl SealedReading {
    /// Seals the PHI of `reading` for its user.
    pub(crate) async fn seal(
        phi: &PhiCrypto,
        reading: &HeartRateReading,
    ) -> Result<Self, StoreError> {
        let user_id = reading.user_id.as_str();
        let bpm_sealed = phi
            .encrypt_phi_field_in(&reading.bpm, user_id, BPM_FIELD)
            .await?;
        let note_sealed = match &reading.note {
            Some(note) => Some(phi.encrypt_phi_field_in(note, user_id, NOTE_FIELD).await?),
            None => None,
        };

        Ok(Self {
            id: reading.id,
            user_id: reading.user_id.clone(),
            bpm_sealed,
            note_sealed,
            recorded_at: reading.recorded_at,
            created_at: reading.created_at,
        })
    }

    /// Opens the PHI, for the owner.
    pub(crate) async fn open(&self, phi: &PhiCrypto) -> Result<HeartRateReading, StoreError> {
        let user_id = self.user_id.as_str();
        let bpm = phi
            .decrypt_phi_field_in(&self.bpm_sealed, user_id, BPM_FIELD)
            .await?;
        let note = match &self.note_sealed {
            Some(sealed) => Some(
                phi.decrypt_phi_field_in(sealed, user_id, NOTE_FIELD)
                    .await?,
            ),
            None => None,
        };

        Ok(HeartRateReading {
            id: self.id,
            user_id: self.user_id.clone(),
            bpm,
            note,
            recorded_at: self.recorded_at,
            created_at: self.created_at,
        })
    }
}
