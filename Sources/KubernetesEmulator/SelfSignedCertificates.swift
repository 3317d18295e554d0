import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A throwaway certificate authority and a serving certificate signed by it, as a cluster bootstrap makes them:
/// the CA goes into kubeconfigs (`certificate-authority-data`), the serving certificate names every address the
/// emulator answers on (Go's TLS stack checks subject alternative names only).
public struct SelfSignedCertificates: Sendable {
    public var caPEM: String
    public var certificatePEM: String
    public var privateKeyPEM: String

    /// - Parameter hosts: DNS names and IP addresses for the serving certificate.
    public init(hosts: [String]) throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("beacon-emulator-ca") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))

        let key = P256.Signing.PrivateKey()
        var names: [GeneralName] = []
        for host in hosts {
            if let v4 = IPv4Bytes(host) { names.append(.ipAddress(ASN1OctetString(contentBytes: v4[...]))) }
            else if let v6 = IPv6Bytes(host) { names.append(.ipAddress(ASN1OctetString(contentBytes: v6[...]))) }
            else { names.append(.dnsName(host)) }
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: caName,
            subject: try DistinguishedName { CommonName("kube-apiserver") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        caPEM = try ca.serializeAsPEM().pemString
        certificatePEM = try leaf.serializeAsPEM().pemString
        privateKeyPEM = key.pemRepresentation
    }

    /// A NIOSSL server configuration presenting the serving certificate, offering HTTP/2 and HTTP/1.1 by ALPN.
    public func serverConfiguration() throws -> TLSConfiguration {
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)))
        config.applicationProtocols = ["h2", "http/1.1"]
        return config
    }
}

private func IPv4Bytes(_ s: String) -> [UInt8]? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    let bytes = parts.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
}

private func IPv6Bytes(_ s: String) -> [UInt8]? {
    guard s.contains(":") else { return nil }
    var addr = in6_addr()
    guard inet_pton(AF_INET6, s, &addr) == 1 else { return nil }
    return withUnsafeBytes(of: &addr) { Array($0) }
}
