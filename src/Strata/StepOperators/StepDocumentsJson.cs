using System.Text.Json;

namespace Strata.StepOperators;

/// <summary>
/// Reads and writes the documents a step entrypoint uses (manifest, result record, artifact store locator, hand-off) with
/// <see cref="JsonDocument"/> and <see cref="Utf8JsonWriter"/>, both precompiled in the framework. A step process
/// starts cold; setting up the serializer, even its generated form, cost it more than the step itself.
/// Property names are snake_case; an absent property reads as null or zero.
/// </summary>
internal static class StepDocumentsJson
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };
    private static readonly JsonDocumentOptions Reading = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    public static byte[] Write(StepManifest m) => Document(Indented, w =>
    {
        w.WriteStartObject();
        w.WriteNumber("format", m.Format);
        w.WriteString("pipeline", m.Pipeline);
        w.WriteString("run_id", m.RunId);
        w.WriteString("run_name", m.RunName);
        w.WriteString("step_name", m.StepName);
        w.WriteString("step_run_id", m.StepRunId);
        w.WriteNumber("attempt", m.Attempt);
        w.WritePropertyName("step");
        Write(w, m.Step);
        w.WriteStartArray("arguments");
        foreach (var a in m.Arguments)
        {
            w.WriteStartObject();
            w.WriteString("name", a.Name);
            w.WriteBoolean("is_literal", a.IsLiteral);
            w.WritePropertyName("literal");
            if (a.Literal is { } literal) literal.WriteTo(w);
            else w.WriteNullValue();
            w.WriteStartArray("inputs");
            foreach (var input in a.Inputs)
            {
                w.WriteStartObject();
                w.WriteString("output", input.Output);
                w.WritePropertyName("artifact");
                Write(w, input.Artifact);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("assemble", a.Assemble);
            w.WritePropertyName("source");
            if (a.Source is { } source) Write(w, source);
            else w.WriteNullValue();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("output_prefix", m.OutputPrefix);
        w.WriteString("result_path", m.ResultPath);
        w.WriteString("log_path", m.LogPath);
        if (m.Traceparent is { } traceparent) w.WriteString("traceparent", traceparent);
        w.WriteEndObject();
    });

    public static StepManifest ReadManifest(byte[] json)
    {
        using var document = Parse(json, "step manifest");
        var m = document.RootElement;
        return new StepManifest(
            Int(m, "format"), Text(m, "pipeline"), Text(m, "run_id"), Text(m, "run_name"), Text(m, "step_name"), Text(m, "step_run_id"), Int(m, "attempt"),
            MethodRef(Property(m, "step") ?? throw Missing("step manifest", "step")),
            Array(m, "arguments", a => new ManifestArgument(
                Text(a, "name"),
                Bool(a, "is_literal"),
                Property(a, "literal") is { ValueKind: not JsonValueKind.Null } literal ? literal.Clone() : null,
                Array(a, "inputs", i => new ManifestInput(Text(i, "output"), Artifact(Property(i, "artifact") ?? throw Missing("manifest input", "artifact")))),
                Bool(a, "assemble"),
                Property(a, "source") is { ValueKind: JsonValueKind.Object } source ? MethodRef(source) : null)),
            Text(m, "output_prefix"), Text(m, "result_path"), Text(m, "log_path"), NullableText(m, "traceparent"));
    }

    public static byte[] Write(StepResultRecord r) => Document(Indented, w =>
    {
        w.WriteStartObject();
        w.WriteString("status", r.Status);
        w.WriteString("error_type", r.ErrorType);
        w.WriteString("error_message", r.ErrorMessage);
        w.WriteString("stack_trace", r.StackTrace);
        w.WriteString("started_at", r.StartedAt);
        w.WriteString("finished_at", r.FinishedAt);
        w.WriteStartArray("outputs");
        foreach (var output in r.Outputs) Write(w, output);
        w.WriteEndArray();
        w.WriteString("log_path", r.LogPath);
        w.WriteString("host", r.Host);
        w.WriteNumber("process_id", r.ProcessId);
        w.WriteEndObject();
    });

    public static StepResultRecord ReadResult(byte[] json)
    {
        using var document = Parse(json, "step result record");
        var r = document.RootElement;
        return new StepResultRecord(
            Text(r, "status"), NullableText(r, "error_type"), NullableText(r, "error_message"), NullableText(r, "stack_trace"),
            Time(r, "started_at"), Time(r, "finished_at"), Array(r, "outputs", Artifact), Text(r, "log_path"), Text(r, "host"), Int(r, "process_id"));
    }

    public static string Write(ArtifactStoreLocator locator) => System.Text.Encoding.UTF8.GetString(Document(default, w =>
    {
        w.WriteStartObject();
        w.WriteString("flavor", locator.Flavor);
        WriteStrings(w, "config", locator.Config);
        w.WriteEndObject();
    }));

    public static ArtifactStoreLocator ReadLocator(string json)
    {
        using var document = Parse(System.Text.Encoding.UTF8.GetBytes(json), ArtifactStoreLocator.EnvironmentVariable);
        var l = document.RootElement;
        return new ArtifactStoreLocator(Text(l, "flavor"), Strings(l, "config"));
    }

    public static byte[] Write(StepHandoff h) => Document(default, w =>
    {
        w.WriteStartObject();
        w.WriteString("manifest_uri", h.ManifestUri);
        w.WriteEndObject();
    });

    public static StepHandoff ReadHandoff(byte[] json)
    {
        using var document = Parse(json, "step hand-off");
        var h = document.RootElement;
        var manifest = Text(h, "manifest_uri");
        if (manifest.Length == 0) throw Missing("step hand-off", "manifest_uri");
        return new StepHandoff(manifest);
    }

    private static void Write(Utf8JsonWriter w, StepMethodRef step)
    {
        w.WriteStartObject();
        w.WriteString("assembly", step.Assembly);
        w.WriteString("assembly_path", step.AssemblyPath);
        w.WriteString("type", step.Type);
        w.WriteString("method", step.Method);
        w.WriteNumber("parameter_count", step.ParameterCount);
        w.WriteString("code_version", step.CodeVersion);
        w.WriteEndObject();
    }

    private static StepMethodRef MethodRef(JsonElement e) => new(
        Text(e, "assembly"), NullableText(e, "assembly_path"), Text(e, "type"), Text(e, "method"), Int(e, "parameter_count"), Text(e, "code_version"));

    private static void Write(Utf8JsonWriter w, ArtifactRecord a)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Id);
        w.WriteString("uri", a.Uri);
        w.WriteString("type_name", a.TypeName);
        w.WriteString("materializer", a.Materializer);
        w.WriteNumber("materializer_version", a.MaterializerVersion);
        w.WriteString("content_hash", a.ContentHash);
        w.WriteNumber("size", a.Size);
        w.WriteString("producer_step_run_id", a.ProducerStepRunId);
        w.WriteString("output_name", a.OutputName);
        w.WriteString("created_at", a.CreatedAt);
        w.WriteEndObject();
    }

    private static ArtifactRecord Artifact(JsonElement e) => new(
        Text(e, "id"), Text(e, "uri"), Text(e, "type_name"), Text(e, "materializer"), Int(e, "materializer_version"),
        Text(e, "content_hash"), Property(e, "size")?.GetInt64() ?? 0, NullableText(e, "producer_step_run_id"), Text(e, "output_name"), Time(e, "created_at"));

    private static byte[] Document(JsonWriterOptions options, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, options))
            write(writer);
        return stream.ToArray();
    }

    private static JsonDocument Parse(byte[] json, string what)
    {
        var document = JsonDocument.Parse(json, Reading);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new StrataConfigException($"The {what} is not a JSON object.");
        }
        return document;
    }

    private static JsonElement? Property(JsonElement e, string name) => e.TryGetProperty(name, out var value) ? value : null;

    private static string? NullableText(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static string Text(JsonElement e, string name) => NullableText(e, name) ?? "";

    private static int Int(JsonElement e, string name) => Property(e, name) is { ValueKind: JsonValueKind.Number } value ? value.GetInt32() : 0;

    private static bool Bool(JsonElement e, string name) => Property(e, name) is { ValueKind: JsonValueKind.True };

    private static DateTimeOffset Time(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.String } value ? value.GetDateTimeOffset() : default;

    /// <summary>A dictionary of strings as an object of string values; <see cref="Strings"/> reads it back.</summary>
    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> values)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in values) w.WriteString(key, value);
        w.WriteEndObject();
    }

    /// <summary>An object of string values, as a dictionary (empty when absent).</summary>
    private static Dictionary<string, string> Strings(JsonElement e, string name)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Property(e, name) is { ValueKind: JsonValueKind.Object } entries)
            foreach (var entry in entries.EnumerateObject())
                values[entry.Name] = entry.Value.GetString() ?? "";
        return values;
    }

    private static T[] Array<T>(JsonElement e, string name, Func<JsonElement, T> read)
    {
        if (Property(e, name) is not { ValueKind: JsonValueKind.Array } array) return [];
        var items = new T[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray()) items[i++] = read(item);
        return items;
    }

    private static StrataConfigException Missing(string what, string property) => new($"The {what} has no '{property}'.");
}
