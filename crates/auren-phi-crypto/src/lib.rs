//! Field-level encryption of PHI with envelope keys, caching and rotation.
