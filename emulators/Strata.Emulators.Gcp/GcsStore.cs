using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Strata.Emulators.Gcp;

/// <summary>One live generation of an object: its bytes, metadata and hashes (GCS's md5Hash and crc32c, base64).</summary>
internal sealed class StoredObject
{
    public required string Bucket { get; init; }
    public required string Name { get; init; }
    public required byte[] Data { get; init; }
    public required long Generation { get; init; }
    public long Metageneration { get; set; } = 1;
    public string ContentType { get; set; } = "application/octet-stream";
    public string? ContentEncoding { get; set; }
    public string? CacheControl { get; set; }
    public string? ContentDisposition { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.Ordinal);
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; set; }
    public string Md5 { get; private init; } = "";
    public string Crc32c { get; private init; } = "";

    public static StoredObject Create(string bucket, string name, byte[] data, long generation, DateTimeOffset now) => new()
    {
        Bucket = bucket,
        Name = name,
        Data = data,
        Generation = generation,
        Created = now,
        Updated = now,
        Md5 = Convert.ToBase64String(MD5.HashData(data)),
        Crc32c = Convert.ToBase64String(Hashes.Crc32c(data)),
    };

    public string ETag => Convert.ToBase64String(BitConverter.GetBytes(Generation)) + Metageneration;

    public JsonObject ToJson(Uri baseUri)
    {
        var escaped = Uri.EscapeDataString(Name);
        var json = new JsonObject
        {
            ["kind"] = "storage#object",
            ["id"] = $"{Bucket}/{Name}/{Generation}",
            ["selfLink"] = new Uri(baseUri, $"storage/v1/b/{Bucket}/o/{escaped}").ToString(),
            ["mediaLink"] = new Uri(baseUri, $"download/storage/v1/b/{Bucket}/o/{escaped}?generation={Generation}&alt=media").ToString(),
            ["name"] = Name,
            ["bucket"] = Bucket,
            ["generation"] = Generation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["metageneration"] = Metageneration.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["contentType"] = ContentType,
            ["storageClass"] = "STANDARD",
            ["size"] = Data.LongLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["md5Hash"] = Md5,
            ["crc32c"] = Crc32c,
            ["etag"] = ETag,
            ["timeCreated"] = Time(Created),
            ["updated"] = Time(Updated),
            ["timeStorageClassUpdated"] = Time(Created),
        };
        if (ContentEncoding is not null) json["contentEncoding"] = ContentEncoding;
        if (CacheControl is not null) json["cacheControl"] = CacheControl;
        if (ContentDisposition is not null) json["contentDisposition"] = ContentDisposition;
        if (Metadata.Count > 0)
        {
            var metadata = new JsonObject();
            foreach (var (k, v) in Metadata) metadata[k] = v;
            json["metadata"] = metadata;
        }
        return json;
    }

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed class StoredBucket(string name, DateTimeOffset created)
{
    public string Name => name;
    public DateTimeOffset Created => created;
    public SortedDictionary<string, StoredObject> Objects { get; } = new(StringComparer.Ordinal);

    public JsonObject ToJson(Uri baseUri, string project) => new()
    {
        ["kind"] = "storage#bucket",
        ["id"] = name,
        ["selfLink"] = new Uri(baseUri, $"storage/v1/b/{name}").ToString(),
        ["name"] = name,
        ["projectNumber"] = "123456789012",
        ["metageneration"] = "1",
        ["location"] = "US",
        ["locationType"] = "multi-region",
        ["storageClass"] = "STANDARD",
        ["etag"] = "CAE=",
        ["timeCreated"] = StoredObject.Time(created),
        ["updated"] = StoredObject.Time(created),
        ["iamConfiguration"] = new JsonObject
        {
            ["bucketPolicyOnly"] = new JsonObject { ["enabled"] = true },
            ["uniformBucketLevelAccess"] = new JsonObject { ["enabled"] = true },
            ["publicAccessPrevention"] = "enforced",
        },
        ["labels"] = new JsonObject { ["project"] = project },
    };
}

/// <summary>An upload session of <c>uploadType=resumable</c>: the object's metadata from the first request, the bytes so far.</summary>
internal sealed class UploadSession
{
    public required string Bucket { get; init; }
    public required JsonObject Resource { get; init; }
    public required Preconditions Preconditions { get; init; }
    public MemoryStream Data { get; } = new();
    public long? Total { get; set; }
}

/// <summary>ifGenerationMatch and friends, from the query string.</summary>
internal sealed record Preconditions(long? IfGenerationMatch, long? IfGenerationNotMatch, long? IfMetagenerationMatch, long? IfMetagenerationNotMatch)
{
    /// <summary>Null when they hold for <paramref name="current"/> (null: no live object), else the reason they do not.</summary>
    public string? Check(StoredObject? current)
    {
        var generation = current?.Generation ?? 0;
        if (IfGenerationMatch is { } g && g != generation)
            return g == 0 ? "At least one of the pre-conditions you specified did not hold: the object exists (ifGenerationMatch=0)."
                : $"At least one of the pre-conditions you specified did not hold: generation is {generation}, not {g}.";
        if (IfGenerationNotMatch is { } ng && ng == generation)
            return "At least one of the pre-conditions you specified did not hold (ifGenerationNotMatch).";
        if (IfMetagenerationMatch is { } m && (current is null || current.Metageneration != m))
            return "At least one of the pre-conditions you specified did not hold (ifMetagenerationMatch).";
        if (IfMetagenerationNotMatch is { } nm && current is not null && current.Metageneration == nm)
            return "At least one of the pre-conditions you specified did not hold (ifMetagenerationNotMatch).";
        return null;
    }
}

internal static class Hashes
{
    /// <summary>CRC32C (Castagnoli) as GCS reports it: the 4 bytes big-endian.</summary>
    public static byte[] Crc32c(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BitConverter.ToUInt64(data.Slice(i, 8)));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        crc = ~crc;
        return [(byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc];
    }
}
