using System.Text;
using System.Text.Json.Nodes;

namespace Strata.Emulators.Kubernetes;

/// <summary>
/// The Kubernetes protobuf encoding (<c>application/vnd.kubernetes.protobuf</c>: "k8s\0" then a runtime.Unknown whose raw
/// bytes are the object), read for the objects kubectl's typed clients send that way: <c>kubectl create secret</c>
/// posts a Secret in protobuf. Only the fields of generated.proto that such objects carry are read.
/// </summary>
internal static class Protobuf
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    public static JsonObject DecodeSecret(byte[] body)
    {
        if (body.Length < 4 || body[0] != 'k' || body[1] != '8' || body[2] != 's' || body[3] != 0)
            throw new FormatException("missing the k8s protobuf prefix");
        string? apiVersion = null, kind = null;
        byte[]? raw = null;
        foreach (var (field, value) in Fields(body.AsMemory(4)))
        {
            if (field == 1)
                foreach (var (f, v) in Fields(value))
                {
                    if (f == 1) apiVersion = Text(v);
                    if (f == 2) kind = Text(v);
                }
            if (field == 2) raw = value.ToArray();
        }
        if (raw is null) throw new FormatException("the protobuf envelope has no object");
        var secret = new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion };
        foreach (var (field, value) in Fields(raw))
        {
            switch (field)
            {
                case 1: secret["metadata"] = Meta(value); break;
                case 2: Entry(secret, "data", value, b => Convert.ToBase64String(b.Span)); break;
                case 3: secret["type"] = Text(value); break;
                case 4: Entry(secret, "stringData", value, b => Encoding.UTF8.GetString(b.Span)); break;
                case 5: secret["immutable"] = value.Length > 0 && value.Span[0] != 0; break;
            }
        }
        return secret;
    }

    private static JsonObject Meta(ReadOnlyMemory<byte> bytes)
    {
        var meta = new JsonObject();
        foreach (var (field, value) in Fields(bytes))
        {
            switch (field)
            {
                case 1: meta["name"] = Text(value); break;
                case 2: meta["generateName"] = Text(value); break;
                case 3: meta["namespace"] = Text(value); break;
                case 11: Entry(meta, "labels", value, Text); break;
                case 12: Entry(meta, "annotations", value, Text); break;
                case 14: (meta["finalizers"] ??= new JsonArray()).AsArray().Add(Text(value)); break;
            }
        }
        return meta;
    }

    private static void Entry(JsonObject into, string name, ReadOnlyMemory<byte> entry, Func<ReadOnlyMemory<byte>, string> value)
    {
        string key = "", text = value(ReadOnlyMemory<byte>.Empty);
        foreach (var (f, v) in Fields(entry))
        {
            if (f == 1) key = Text(v);
            if (f == 2) text = value(v);
        }
        var map = (into[name] ??= new JsonObject()).AsObject();
        map[key] = text;
    }

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>The fields of one message: length-delimited ones as their bytes, varints as 0 or 1.</summary>
    private static List<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ReadOnlyMemory<byte>)>();
        var span = message.Span;
        var i = 0;
        while (i < span.Length)
        {
            var tag = Varint(span, ref i);
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    var v = Varint(span, ref i); // only booleans are read: kept as 0 or 1
                    fields.Add((field, new[] { (byte)(v == 0 ? 0 : 1) }));
                    break;
                case 2:
                    var length = (int)Varint(span, ref i);
                    fields.Add((field, message.Slice(i, length)));
                    i += length;
                    break;
                case 1: i += 8; break;
                case 5: i += 4; break;
                default: throw new FormatException($"unsupported protobuf wire type {tag & 7}");
            }
        }
        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> span, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = span[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }
}
