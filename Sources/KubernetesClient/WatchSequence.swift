import AsyncHTTPClient
import Foundation
import KubernetesModel
import NIOCore

/// One change from a watch stream.
public enum WatchChange<Object: Sendable & Hashable>: Sendable, Hashable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// The server's progress marker: everything up to this resourceVersion has been delivered.
    case bookmark(resourceVersion: String)
}

/// A watch as an `AsyncSequence`: the request is made when iteration starts, the chunked body is split into lines,
/// and each line decoded. It ends when the server closes the stream (timeout, restart); an ERROR event (410 Gone
/// and its like) is thrown as `KubernetesClientError.api`.
public struct WatchSequence<Object: Codable & Sendable & Hashable>: AsyncSequence, Sendable {
    public typealias Element = WatchChange<Object>

    let client: KubernetesClient
    let path: String
    let query: [String: String]
    let deadline: Duration

    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let sequence: WatchSequence
        var body: HTTPClientResponse.Body.AsyncIterator?
        var buffer: WatchLineBuffer
        var finished = false

        init(sequence: WatchSequence) {
            self.sequence = sequence
            buffer = WatchLineBuffer(maxLineBytes: sequence.client.configuration.maxWatchEventBytes)
        }

        public mutating func next() async throws -> WatchChange<Object>? {
            if finished { return nil }
            if body == nil {
                let client = sequence.client
                let request = try await client.makeRequest(.GET, sequence.path, query: sequence.query)
                let response: HTTPClientResponse
                do {
                    response = try await client.http.execute(request, timeout: .seconds(Int64(client.configuration.requestTimeout.components.seconds)))
                } catch {
                    throw KubernetesClientError.transport("watch \(sequence.path): \(error)")
                }
                guard response.status.code == 200 else {
                    let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                    throw KubernetesClientError.api(KubernetesClient.status(from: bytes, code: Int(response.status.code),
                                                                            reason: response.status.reasonPhrase))
                }
                body = response.body.makeAsyncIterator()
            }
            while true {
                do {
                    if let line = try buffer.nextLine() { return try Self.decode(Array(line)) }
                } catch let error as WatchLineBuffer.LineTooLong {
                    finished = true
                    throw KubernetesClientError.decoding("watch \(sequence.path): \(error)")
                }
                let chunk: ByteBuffer?
                do { chunk = try await body?.next() } catch {
                    finished = true
                    throw KubernetesClientError.transport("watch \(sequence.path): \(error)")
                }
                guard let chunk else {
                    finished = true
                    guard let line = buffer.remainder() else { return nil }
                    return try Self.decode(Array(line))
                }
                do { try buffer.append(chunk.readableBytesView) } catch {
                    finished = true
                    throw KubernetesClientError.decoding("watch \(sequence.path): \(error)")
                }
            }
        }

        static func decode(_ line: [UInt8]) throws -> WatchChange<Object> {
            let envelope: JSONValue
            do { envelope = try JSONText.parse(line) } catch {
                throw KubernetesClientError.decoding("watch event: \(error)")
            }
            guard let type = envelope["type"]?.stringValue, let object = envelope["object"] else {
                throw KubernetesClientError.decoding("watch event without type or object")
            }
            switch type {
            case "ERROR":
                let code = Int({ if case .int(let c)? = object["code"] { return c }; return 500 }())
                var status = Status(message: object["message"]?.stringValue ?? "watch error", reason: object["reason"]?.stringValue ?? "", code: code)
                status.code = code
                throw KubernetesClientError.api(status)
            case "BOOKMARK":
                return .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
            default:
                let decoded: Object
                do {
                    decoded = try JSONValueDecoder().decode(Object.self, from: object)
                } catch {
                    throw KubernetesClientError.decoding("watch event \(Object.self): \(error)")
                }
                switch type {
                case "ADDED": return .added(decoded)
                case "MODIFIED": return .modified(decoded)
                case "DELETED": return .deleted(decoded)
                default: throw KubernetesClientError.decoding("unknown watch event type \(type)")
                }
            }
        }
    }
}
