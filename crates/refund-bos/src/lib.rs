//! Placeholder until the provider issue lands.
