// KubernetesKitSecret: a participant's start-up kit as one Kubernetes Secret manifest (fedctl provision --kubernetes).
import Foundation

/// The Secret `fedct-kit` that the manifests under Deployments/kubernetes mount read-only at /etc/fedct.
enum KubernetesKitSecret {
    /// Where it is written inside the participant's folder.
    static let path = "kubernetes/kit-secret.yaml"

    /// The manifest holding `files` (name, content) base64-encoded under their names, sorted by name.
    static func manifest(participant: String, role: ParticipantRole, consortium: String, files: [(String, String)]) -> String {
        let data = files.sorted { $0.0 < $1.0 }.map { "  \($0.0): \(Data($0.1.utf8).base64EncodedString())" }
        return """
            # Start-up kit of \(role.rawValue) "\(participant)" as a Kubernetes Secret (fedctl provision --kubernetes).
            # It holds the private key: keep it beside your overlay or apply it directly, and never commit it.
            apiVersion: v1
            kind: Secret
            metadata:
              name: fedct-kit
              labels:
                app.kubernetes.io/name: fedct-\(role.rawValue)
                app.kubernetes.io/part-of: fedct
              annotations:
                fedct.org/participant: \(quoted(participant))
                fedct.org/consortium: \(quoted(consortium))
            type: Opaque
            data:
            \(data.joined(separator: "\n"))

            """
    }

    /// A YAML double-quoted scalar of `text`.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += String(format: "\\x%02X", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
