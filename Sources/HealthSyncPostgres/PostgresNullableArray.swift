import PostgresNIO

/// A one-dimensional PostgreSQL array whose elements may be `NULL`, bound as one parameter: PostgresNIO's arrays
/// take no optional elements. Statements pass the rows of a commit as arrays of columns (`unnest($1, $2, …)`).
struct PostgresNullableArray<Element: PostgresNonThrowingEncodable & PostgresArrayEncodable>:
    PostgresNonThrowingEncodable
{
    var elements: [Element?]

    init(_ elements: [Element?]) {
        self.elements = elements
    }

    static var psqlType: PostgresDataType { Element.psqlArrayType }

    static var psqlFormat: PostgresFormat { .binary }

    /// The binary array format: dimensions, a has-null flag, the element type, the length and lower bound of the one
    /// dimension, then each element as its length (`-1` for `NULL`) and bytes.
    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count), as: Int32.self)
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            guard let element else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            let start = buffer.writerIndex
            element.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex, as: Int32.self)
        }
    }
}
