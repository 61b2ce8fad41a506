using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Emulators.Aws;

/// <summary>CloudWatch Logs groups and streams held in memory, with GetLogEvents and DescribeLogStreams as AWS answers them.</summary>
internal sealed class LogStore(string region, string accountId, TimeProvider time)
{
    internal sealed record Event(long Timestamp, string Message, long IngestionTime);

    internal sealed class Stream(string name, long creationTime)
    {
        public string Name { get; } = name;
        public long CreationTime { get; } = creationTime;
        public List<Event> Events { get; } = [];
    }

    private readonly Dictionary<string, SortedDictionary<string, Stream>> _groups = new(StringComparer.Ordinal);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public void CreateGroup(string group)
    {
        lock (_groups) _groups.TryAdd(group, new SortedDictionary<string, Stream>(StringComparer.Ordinal));
    }

    public void CreateStream(string group, string stream)
    {
        lock (_groups)
        {
            CreateGroup(group);
            _groups[group].TryAdd(stream, new Stream(stream, Now));
        }
    }

    public void Append(string group, string stream, string message)
    {
        lock (_groups)
        {
            CreateStream(group, stream);
            var now = Now;
            _groups[group][stream].Events.Add(new Event(now, message, now));
        }
    }

    public IReadOnlyList<string> Messages(string group, string stream)
    {
        lock (_groups)
            return _groups.TryGetValue(group, out var g) && g.TryGetValue(stream, out var s) ? s.Events.Select(e => e.Message).ToArray() : [];
    }

    public JsonObject GetLogEvents(JsonObject request)
    {
        var groupName = (string)request["logGroupName"]!;
        var streamName = (string)request["logStreamName"]!;
        var limit = (int?)request["limit"] ?? 10_000;
        var startFromHead = (bool?)request["startFromHead"] ?? false;
        var startTime = (long?)request["startTime"];
        var endTime = (long?)request["endTime"];
        var token = (string?)request["nextToken"];
        Event[] events;
        lock (_groups)
        {
            if (!_groups.TryGetValue(groupName, out var group)) throw new EmulatedAwsException(400, "ResourceNotFoundException", "The specified log group does not exist.");
            if (!group.TryGetValue(streamName, out var stream)) throw new EmulatedAwsException(400, "ResourceNotFoundException", "The specified log stream does not exist.");
            events = stream.Events.Where(e => (startTime is null || e.Timestamp >= startTime) && (endTime is null || e.Timestamp < endTime)).ToArray();
        }

        int from, to;
        if (token is null)
        {
            if (startFromHead) { from = 0; to = Math.Min(events.Length, limit); }
            else { to = events.Length; from = Math.Max(0, to - limit); }
        }
        else
        {
            var (forward, position) = ParseToken(token, events.Length);
            if (forward) { from = position; to = Math.Min(events.Length, position + limit); }
            else { to = position; from = Math.Max(0, position - limit); }
        }
        var page = new JsonArray(events[from..to].Select(e => (JsonNode)new JsonObject
        {
            ["timestamp"] = e.Timestamp,
            ["message"] = e.Message,
            ["ingestionTime"] = e.IngestionTime,
        }).ToArray());
        return new JsonObject
        {
            ["events"] = page,
            ["nextForwardToken"] = Token('f', to),
            ["nextBackwardToken"] = Token('b', from),
        };
    }

    public JsonObject DescribeLogStreams(JsonObject request)
    {
        var groupName = (string)request["logGroupName"]!;
        var prefix = (string?)request["logStreamNamePrefix"];
        var orderBy = (string?)request["orderBy"] ?? "LogStreamName";
        var descending = (bool?)request["descending"] ?? false;
        var limit = (int?)request["limit"] ?? 50;
        var token = (string?)request["nextToken"];
        if (orderBy == "LastEventTime" && prefix is not null)
            throw new EmulatedAwsException(400, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.");
        List<(Stream Stream, long? First, long? Last)> streams;
        lock (_groups)
        {
            if (!_groups.TryGetValue(groupName, out var group)) throw new EmulatedAwsException(400, "ResourceNotFoundException", "The specified log group does not exist.");
            streams = group.Values.Where(s => prefix is null || s.Name.StartsWith(prefix, StringComparison.Ordinal))
                .Select(s => (s, s.Events.Count > 0 ? s.Events[0].Timestamp : (long?)null, s.Events.Count > 0 ? s.Events[^1].Timestamp : (long?)null))
                .ToList();
        }
        IEnumerable<(Stream Stream, long? First, long? Last)> ordered = orderBy == "LastEventTime"
            ? streams.OrderBy(s => s.Last ?? 0).ThenBy(s => s.Stream.Name, StringComparer.Ordinal)
            : streams.OrderBy(s => s.Stream.Name, StringComparer.Ordinal);
        if (descending) ordered = ordered.Reverse();
        var all = ordered.ToArray();
        var start = 0;
        if (token is not null && (!token.StartsWith("streams/", StringComparison.Ordinal) || !int.TryParse(token["streams/".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out start) || start > all.Length))
            throw new EmulatedAwsException(400, "InvalidParameterException", "The specified nextToken is invalid.");
        var end = Math.Min(all.Length, start + limit);
        var result = new JsonObject
        {
            ["logStreams"] = new JsonArray(all[start..end].Select(s =>
            {
                var o = new JsonObject
                {
                    ["logStreamName"] = s.Stream.Name,
                    ["creationTime"] = s.Stream.CreationTime,
                    ["arn"] = $"arn:aws:logs:{region}:{accountId}:log-group:{groupName}:log-stream:{s.Stream.Name}",
                    ["storedBytes"] = 0,
                };
                if (s.First is { } first) o["firstEventTimestamp"] = first;
                if (s.Last is { } last) { o["lastEventTimestamp"] = last; o["lastIngestionTime"] = last; }
                return (JsonNode)o;
            }).ToArray()),
        };
        if (end < all.Length) result["nextToken"] = $"streams/{end.ToString(CultureInfo.InvariantCulture)}";
        return result;
    }

    private static string Token(char direction, int position) => $"{direction}/{position.ToString("D56", CultureInfo.InvariantCulture)}";

    private static (bool Forward, int Position) ParseToken(string token, int count)
    {
        if (token.Length > 2 && token[0] is 'f' or 'b' && token[1] == '/'
            && int.TryParse(token[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var position) && position <= count)
            return (token[0] == 'f', position);
        throw new EmulatedAwsException(400, "InvalidParameterException", "The specified nextToken is invalid.");
    }
}
