using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Strata.Emulators.Kubernetes;

/// <summary>A watch event as the API server streams it.</summary>
internal sealed record StoreEvent(long ResourceVersion, string Type, string Resource, string? Namespace, JsonObject Object);

/// <summary>
/// The emulator's etcd: objects by resource, namespace and name, one resourceVersion counter, and an event log that
/// watches replay from a resourceVersion and then follow.
/// </summary>
internal sealed class ObjectStore
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Resource, string Namespace, string Name), JsonObject> _objects = [];
    private readonly List<StoreEvent> _events = [];
    private readonly List<Channel<StoreEvent>> _watchers = [];
    private long _version = 1;

    public long CurrentVersion
    {
        get { lock (_gate) return _version; }
    }

    public JsonObject? Get(string resource, string ns, string name)
    {
        lock (_gate) return _objects.TryGetValue((resource, ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
    }

    public List<JsonObject> List(string resource, string? ns)
    {
        lock (_gate)
            return _objects.Where(p => p.Key.Resource == resource && (ns is null || p.Key.Namespace == ns))
                .OrderBy(p => p.Key.Namespace, StringComparer.Ordinal).ThenBy(p => p.Key.Name, StringComparer.Ordinal)
                .Select(p => (JsonObject)p.Value.DeepClone()).ToList();
    }

    /// <summary>Adds a new object; false when the name is taken.</summary>
    public bool TryAdd(string resource, string ns, JsonObject obj, out JsonObject stored)
    {
        lock (_gate)
        {
            var name = (string)obj["metadata"]!["name"]!;
            stored = obj;
            if (_objects.ContainsKey((resource, ns, name))) return false;
            Stamp(obj);
            _objects[(resource, ns, name)] = obj;
            Publish("ADDED", resource, ns, obj);
            stored = (JsonObject)obj.DeepClone();
            return true;
        }
    }

    /// <summary>Changes an object in place under the store's lock; null when it is gone.</summary>
    public JsonObject? Update(string resource, string ns, string name, Action<JsonObject> change)
    {
        lock (_gate)
        {
            if (!_objects.TryGetValue((resource, ns, name), out var obj)) return null;
            var before = obj.ToJsonString();
            change(obj);
            if (obj.ToJsonString() == before) return (JsonObject)obj.DeepClone();
            Stamp(obj);
            Publish("MODIFIED", resource, ns, obj);
            return (JsonObject)obj.DeepClone();
        }
    }

    public JsonObject? Remove(string resource, string ns, string name)
    {
        lock (_gate)
        {
            if (!_objects.Remove((resource, ns, name), out var obj)) return null;
            Stamp(obj);
            Publish("DELETED", resource, ns, obj);
            return (JsonObject)obj.DeepClone();
        }
    }

    /// <summary>
    /// Starts a watch: the events after <paramref name="fromVersion"/> (or ADDED for every current object when null),
    /// then every later event, on one channel.
    /// </summary>
    public Channel<StoreEvent> Watch(string resource, long? fromVersion, out List<StoreEvent> initial, out bool expired)
    {
        var channel = Channel.CreateUnbounded<StoreEvent>();
        lock (_gate)
        {
            expired = false;
            if (fromVersion is { } from)
            {
                if (_events.Count > 0 && from < _events[0].ResourceVersion - 1) expired = true;
                initial = _events.Where(e => e.Resource == resource && e.ResourceVersion > from).ToList();
            }
            else
            {
                initial = _objects.Where(p => p.Key.Resource == resource)
                    .Select(p => new StoreEvent(_version, "ADDED", resource, p.Key.Namespace.Length == 0 ? null : p.Key.Namespace, (JsonObject)p.Value.DeepClone()))
                    .ToList();
            }
            _watchers.Add(channel);
        }
        return channel;
    }

    public void StopWatching(Channel<StoreEvent> channel)
    {
        lock (_gate) _watchers.Remove(channel);
        channel.Writer.TryComplete();
    }

    private void Stamp(JsonObject obj) => obj["metadata"]!["resourceVersion"] = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void Publish(string type, string resource, string ns, JsonObject obj)
    {
        var e = new StoreEvent(_version, type, resource, ns.Length == 0 ? null : ns, (JsonObject)obj.DeepClone());
        _events.Add(e);
        if (_events.Count > 5000) _events.RemoveRange(0, 1000);
        foreach (var w in _watchers) w.Writer.TryWrite(e);
    }
}
