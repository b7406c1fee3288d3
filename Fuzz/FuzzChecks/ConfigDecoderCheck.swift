import Maintenance
import StewardModel

/// A config document (the fuzz input) through `ConfigCodec.decode`: the syntax check, the
/// decoder and `validate()`.
///
/// Invariants (each a crash under libFuzzer; crashes, hangs and leaks inside the decoder count too):
/// - decoding is deterministic (the same config or the same error, twice);
/// - what decodes also round-trips: `encode` gives valid JSON that decodes (and validates) to the
///   same config, and encoding that again gives the same bytes (one normal form, equal SHAs);
/// - a document the syntax check refuses is refused as invalid JSON.
package enum ConfigDecoderCheck {
    package static func run(_ input: [UInt8]) throws(FuzzViolation) {
        let first = Result { () throws(ConfigStoreError) in try ConfigCodec.decode(input) }
        let second = Result { () throws(ConfigStoreError) in try ConfigCodec.decode(input) }
        guard first == second else { throw FuzzViolation("decoding the same document twice differs") }
        if !JSONSyntax.isValid(input) {
            guard case .failure(.invalidJSON) = first else { throw FuzzViolation("invalid JSON not refused as invalid JSON: \(first)") }
            return
        }
        guard case .success(let config) = first else { return }
        let encoded = ConfigCodec.encode(config)
        guard JSONSyntax.isValid(encoded) else { throw FuzzViolation("encode gives invalid JSON") }
        let again: StewardConfig
        do {
            again = try ConfigCodec.decode(encoded)
        } catch {
            throw FuzzViolation("the encoded config does not decode: \(error)")
        }
        guard again == config else { throw FuzzViolation("the encoded config decodes to a different config") }
        guard ConfigCodec.encode(again) == encoded else { throw FuzzViolation("encoding is not a normal form") }
    }
}
