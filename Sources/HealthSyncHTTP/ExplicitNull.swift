/// An optional that a synthesized `Encodable` conformance writes as an explicit `null` when it is `nil`, instead of
/// leaving its key out: the JSON documents of the status API and of the command line's `--format json` keep every
/// key present.
///
/// ```swift
/// struct Entry: Encodable {
///     @ExplicitNull var message: String?
/// }
/// // {"message": null}
/// ```
@propertyWrapper
package struct ExplicitNull<Value: Encodable>: Encodable {
    /// The value; `nil` is encoded as `null`.
    package var wrappedValue: Value?

    /// Wraps `wrappedValue`.
    package init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    /// Encodes the value, or `null`.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}

extension ExplicitNull: Sendable where Value: Sendable {}
