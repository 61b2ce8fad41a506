// The least a step process does, with the framework alone: read its manifest (JSON) for its input, read the input, call
// the step, write the output (a temporary file, then renamed) with a hash of its content, write a JSON result record
// and its log, and say so on the console. What Strata's step process does beyond this (its own assembly, finding the
// step's method, the artifact store, content hashes, masking secrets) is on top of it.
using System;
using System.IO;
using System.Text.Json;

var directory = args[0];
var started = DateTimeOffset.UtcNow;
string input;
using (var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "manifest.json"))))
    input = manifest.RootElement.GetProperty("input").GetString()!;
var x = int.Parse(File.ReadAllText(Path.Combine(directory, input)), System.Globalization.CultureInfo.InvariantCulture);
var output = System.Text.Encoding.UTF8.GetBytes((x + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
var hash = 14695981039346656037UL; // FNV-1a: a hash of the content, with no library to load
foreach (var b in output) hash = (hash ^ b) * 1099511628211UL;
var temporary = Path.Combine(directory, "output.tmp");
File.WriteAllBytes(temporary, output);
File.Move(temporary, Path.Combine(directory, "output"), overwrite: true);
using (var stream = File.Create(Path.Combine(directory, "result.json")))
using (var writer = new Utf8JsonWriter(stream))
{
    writer.WriteStartObject();
    writer.WriteString("status", "completed");
    writer.WriteString("started_at", started);
    writer.WriteString("finished_at", DateTimeOffset.UtcNow);
    writer.WriteString("content_hash", hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
    writer.WriteEndObject();
}
File.WriteAllText(Path.Combine(directory, "step.log"), "");
Console.WriteLine("step done");
