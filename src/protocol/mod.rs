//! Wire types of protocol v1 (`docs/protocol.md`), shared by the sync client and `fieldstream-server`.
