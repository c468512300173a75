import Foundation

/// The JSON coders both sides use for protocol bodies.
public enum WireCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder { JSONDecoder() }

    /// Decodes a body from the other side: first checked by the strict reader (depth, duplicate keys,
    /// UTF-8, trailing bytes; see `JSONReader`), then decoded. For messages off the sync path.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let bytes = Array(bytes)
        try JSONReader.validate(bytes)
        return try decoder().decode(type, from: Data(bytes))
    }

    /// Checks that bytes are one strict JSON value (see `JSONReader`).
    public static func validate(_ bytes: some Collection<UInt8>) throws {
        try JSONReader.validate(Array(bytes))
    }

    /// Whether an error means the bytes were not JSON at all (rather than JSON of the wrong shape).
    public static func isSyntaxError(_ error: any Error) -> Bool {
        if let error = error as? JSONReadError { return error.kind == .syntax }
        if case .dataCorrupted(let context) = error as? DecodingError { return context.codingPath.isEmpty }
        return !(error is DecodingError)
    }

    /// A short, human-readable reason a body failed to decode (names the field, never its value).
    public static func describe(_ error: any Error) -> String {
        if let error = error as? JSONReadError { return error.description }
        guard let error = error as? DecodingError else { return "the body is not valid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            var text = ""
            for key in context.codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "the body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "the body" ? "" : parent + ".")\(key.stringValue) is missing"
        case .typeMismatch(let type, let context): return "\(path(context)) should be of type \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)) should be a \(type), not null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "the body does not match the protocol"
        }
    }
}
