using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Strata.Secrets;

/// <summary>A secret as it may be shown: its name and key names, never its values.</summary>
public sealed record SecretInfo(string Id, string Name, IReadOnlyList<string> Keys, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public const string Mask = "********";

    /// <summary>Every key with a masked value, for <c>describe</c>.</summary>
    public IReadOnlyDictionary<string, string> MaskedValues => Keys.ToDictionary(k => k, _ => Mask);
}

/// <summary>
/// Named sets of secret values (<c>strata secret ...</c>), encrypted at rest in the metadata store with AES-GCM under a
/// key kept in the Strata home (<c>secrets.key</c>, readable by its owner only). Component configs refer to values as
/// <c>{{NAME.key}}</c>; steps that ask for secrets get them as environment variables.
/// </summary>
public sealed partial class SecretManager
{
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly IMetadataStore _store;
    private readonly StrataHome _home;
    private byte[]? _key;

    internal SecretManager(IMetadataStore store, StrataHome home)
    {
        _store = store;
        _home = home;
    }

    /// <summary>The key file: created on first use, mode 0600.</summary>
    public string KeyPath => Path.Combine(_home.Path, "secrets.key");

    /// <exception cref="StrataConfigException">A bad name, key or empty value, or a secret of that name exists.</exception>
    public async Task<SecretInfo> CreateAsync(string name, IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        if (values.Count == 0)
            throw new StrataConfigException($"Secret '{name}' needs at least one value: give --key=value.");
        CheckValues(name, values);
        var now = TimeProvider.System.GetUtcNow();
        var record = new SecretRecord(Guid.CreateVersion7().ToString(), name, SortedKeys(values), Encrypt(name, values), now, now);
        await _store.PutSecretAsync(record, replace: false, cancellationToken).ConfigureAwait(false);
        return Info(record);
    }

    /// <summary>Sets the given keys of a secret; the rest stay. An empty value removes a key.</summary>
    /// <exception cref="StrataConfigException">No such secret, a bad key, or no key would be left.</exception>
    public async Task<SecretInfo> UpdateAsync(string name, IReadOnlyDictionary<string, string> changes, CancellationToken cancellationToken = default)
    {
        var record = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        CheckValues(name, changes.Where(c => c.Value.Length > 0).ToDictionary());
        var values = new Dictionary<string, string>(Decrypt(record), StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (value.Length > 0) values[key] = value;
            else if (!values.Remove(key))
                throw new StrataConfigException($"Secret '{name}' has no key '{key}' to remove (keys: {string.Join(", ", record.Keys)}).");
        }
        if (values.Count == 0)
            throw new StrataConfigException($"Secret '{name}' would have no keys left; delete it with `strata secret delete {name}`.");
        var updated = record with { Keys = SortedKeys(values), Payload = Encrypt(name, values), UpdatedAt = TimeProvider.System.GetUtcNow() };
        await _store.PutSecretAsync(updated, replace: true, cancellationToken).ConfigureAwait(false);
        return Info(updated);
    }

    /// <exception cref="StrataConfigException">No such secret.</exception>
    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => _store.DeleteSecretAsync(name, cancellationToken);

    /// <summary>Every secret's name and key names.</summary>
    public async Task<IReadOnlyList<SecretInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _store.ListSecretsAsync(cancellationToken).ConfigureAwait(false)).Select(Info).ToArray();

    /// <summary>A secret's name and keys, for showing; <see cref="SecretInfo.MaskedValues"/> stands in for the values.</summary>
    /// <exception cref="StrataConfigException">No such secret.</exception>
    public async Task<SecretInfo> DescribeAsync(string name, CancellationToken cancellationToken = default) =>
        Info(await GetRecordAsync(name, cancellationToken).ConfigureAwait(false));

    /// <summary>The decrypted values of a secret. For the runtime only: never print or log them.</summary>
    /// <exception cref="StrataConfigException">No such secret, or it cannot be decrypted with this home's key.</exception>
    public async Task<IReadOnlyDictionary<string, string>> GetAsync(string name, CancellationToken cancellationToken = default) =>
        Decrypt(await GetRecordAsync(name, cancellationToken).ConfigureAwait(false));

    /// <summary>Checks that every named secret exists, e.g. those a pipeline's steps ask for, before a run starts.</summary>
    /// <exception cref="StrataConfigException">Lists every missing secret.</exception>
    public async Task ValidateAsync(IEnumerable<string> names, CancellationToken cancellationToken = default)
    {
        var existing = (await _store.ListSecretsAsync(cancellationToken).ConfigureAwait(false)).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var missing = names.Distinct(StringComparer.Ordinal).Where(n => !existing.Contains(n)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length == 1)
            throw new StrataConfigException($"No secret named '{missing[0]}'; create it with `strata secret create {missing[0]} --key=value`.");
        if (missing.Length > 1)
            throw new StrataConfigException($"Missing secrets: {string.Join(", ", missing.Select(m => $"'{m}'"))}; create them with `strata secret create " +
                "NAME --key=value`.");
    }

    /// <summary>
    /// The environment variables that give a step its secrets: each key upper-cased, with every character other than
    /// a letter or digit as '_' (<c>aws_access_key_id</c> → <c>AWS_ACCESS_KEY_ID</c>).
    /// </summary>
    /// <exception cref="StrataConfigException">A secret is missing, or two keys map to the same variable (both are named).</exception>
    public async Task<IReadOnlyDictionary<string, string>> EnvironmentForAsync(IEnumerable<string> secretNames, CancellationToken cancellationToken = default)
    {
        var names = secretNames.Distinct(StringComparer.Ordinal).ToArray();
        await ValidateAsync(names, cancellationToken).ConfigureAwait(false);
        var environment = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
            foreach (var (key, value) in await GetAsync(name, cancellationToken).ConfigureAwait(false))
            {
                var variable = EnvironmentName(key);
                if (origin.TryGetValue(variable, out var other))
                    throw new StrataConfigException($"Secrets {other} and '{name}.{key}' both become environment variable {variable}; rename one of the keys.");
                origin[variable] = $"'{name}.{key}'";
                environment[variable] = value;
            }
        return environment;
    }

    /// <summary>The environment variable a secret key becomes.</summary>
    public static string EnvironmentName(string key) => NotAlphanumeric().Replace(key.ToUpperInvariant(), "_");

    /// <summary>The values of a secret, or null when there is none of that name.</summary>
    internal async Task<IReadOnlyDictionary<string, string>?> TryGetAsync(string name, CancellationToken cancellationToken)
    {
        var record = await _store.GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
        return record is null ? null : Decrypt(record);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex ValidName();

    // Keys may not contain '.', so `{{NAME.key}}` splits at its last dot even when the name has dots.
    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,128}\z")]
    internal static partial Regex ValidKey();

    [GeneratedRegex("[^A-Z0-9]")]
    private static partial Regex NotAlphanumeric();

    internal static bool IsValidName(string name) => ValidName().IsMatch(name);

    private static void CheckName(string name)
    {
        if (!IsValidName(name))
            throw new StrataConfigException($"'{name}' is not a valid secret name: use letters, digits, '_', '-' and '.' (up to 128, starting with a letter " +
                "or digit).");
    }

    private static void CheckValues(string name, IReadOnlyDictionary<string, string> values)
    {
        var badKeys = values.Keys.Where(k => !ValidKey().IsMatch(k)).ToArray();
        if (badKeys.Length > 0)
            throw new StrataConfigException($"Secret '{name}': {string.Join(", ", badKeys.Select(k => $"'{k}'"))} " +
                $"{(badKeys.Length == 1 ? "is not a valid key" : "are not valid keys")}: use letters, digits, '_' and '-'.");
        var empty = values.Where(kv => kv.Value.Length == 0).Select(kv => kv.Key).ToArray();
        if (empty.Length > 0)
            throw new StrataConfigException($"Secret '{name}': key {string.Join(", ", empty.Select(k => $"'{k}'"))} has an empty value; give a value.");
    }

    private async Task<SecretRecord> GetRecordAsync(string name, CancellationToken cancellationToken) =>
        await _store.GetSecretAsync(name, cancellationToken).ConfigureAwait(false)
        ?? throw new StrataConfigException($"No secret named '{name}'; see `strata secret list`.");

    private static string[] SortedKeys(IReadOnlyDictionary<string, string> values) => values.Keys.Order(StringComparer.Ordinal).ToArray();

    private static SecretInfo Info(SecretRecord r) => new(r.Id, r.Name, r.Keys, r.CreatedAt, r.UpdatedAt);

    // ---- encryption: payload = base64(nonce | ciphertext | tag), the secret's name as associated data ----

    private string Encrypt(string name, IReadOnlyDictionary<string, string> values)
    {
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(new SortedDictionary<string, string>(values.ToDictionary(), StringComparer.Ordinal));
        var payload = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = payload.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(Key(), TagSize))
            aes.Encrypt(nonce, plaintext, payload.AsSpan(NonceSize, plaintext.Length), payload.AsSpan(NonceSize + plaintext.Length),
                Encoding.UTF8.GetBytes(name));
        CryptographicOperations.ZeroMemory(plaintext);
        return Convert.ToBase64String(payload);
    }

    private Dictionary<string, string> Decrypt(SecretRecord record)
    {
        byte[] payload;
        try { payload = Convert.FromBase64String(record.Payload); }
        catch (FormatException e) { throw Undecryptable(record.Name, e); }
        if (payload.Length < NonceSize + TagSize) throw Undecryptable(record.Name, null);
        var plaintext = new byte[payload.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(Key(), TagSize);
            aes.Decrypt(payload.AsSpan(0, NonceSize), payload.AsSpan(NonceSize, plaintext.Length), payload.AsSpan(NonceSize + plaintext.Length), plaintext,
                Encoding.UTF8.GetBytes(record.Name));
            return JsonSerializer.Deserialize<Dictionary<string, string>>(plaintext) ?? throw Undecryptable(record.Name, null);
        }
        catch (AuthenticationTagMismatchException e) { throw Undecryptable(record.Name, e); }
        finally { CryptographicOperations.ZeroMemory(plaintext); }
    }

    private StrataConfigException Undecryptable(string name, Exception? inner) => new(
        $"Secret '{name}' cannot be decrypted with the key in {KeyPath} (was the key file replaced, or the store copied from another home?); " +
        $"delete the secret and create it again.", inner);

    // ---- the key file ----

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private byte[] Key()
    {
        if (_key is not null) return _key;
        if (!File.Exists(KeyPath)) CreateKeyFile();
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(KeyPath) & GroupOrOthers) != 0)
            throw new StrataConfigException(
                $"The secrets key {KeyPath} can be read or changed by other users (mode {Convert.ToString((int)File.GetUnixFileMode(KeyPath), 8)}); " +
                $"restrict it with `chmod 600 {KeyPath}`.");
        var key = File.ReadAllBytes(KeyPath);
        if (key.Length != KeySize)
            throw new StrataConfigException($"The secrets key {KeyPath} is not a {KeySize}-byte key; restore it from a backup (secrets encrypted with it " +
                "cannot be read otherwise).");
        return _key = key;
    }

    private void CreateKeyFile()
    {
        Directory.CreateDirectory(_home.Path);
        // Written to a temporary file created owner-only, then linked into place without overwriting: the key is never
        // readable by others even for a moment, and of two processes creating it at once, both use the one that won.
        var temp = $"{KeyPath}.{Guid.NewGuid():n}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(RandomNumberGenerator.GetBytes(KeySize));
                stream.Flush(flushToDisk: true);
            }
            try { File.Move(temp, KeyPath, overwrite: false); }
            catch (IOException) when (File.Exists(KeyPath)) { }
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
