using System.Text;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Secrets;

public class SecretManagerTests
{
    private const string Distinctive = "s3cr3t-Zebra-Quokka-7781";

    private static Dictionary<string, string> Values(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static bool Contains(byte[] haystack, string value) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) >= 0 || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(value)) >= 0;

    private static byte[] ReadShared(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Values_are_encrypted_at_rest_in_the_store_file_its_wal_and_its_rows()
    {
        await using var home = await TestHome.OpenAsync();
        await home.Client.Secrets.CreateAsync("aws", Values(("secret_access_key", Distinctive)));
        await home.Client.Secrets.UpdateAsync("aws", Values(("region", Distinctive + "-region")));

        var db = home.Client.Home.DatabasePath;
        var key = await File.ReadAllBytesAsync(home.Client.Secrets.KeyPath);
        foreach (var file in new[] { db, db + "-wal" })
        {
            var bytes = ReadShared(file);
            Assert.False(Contains(bytes, Distinctive), $"the value is in {file}");
            Assert.True(bytes.AsSpan().IndexOf(key) < 0, $"the key is in {file}");
        }
        // The key names are stored in the clear: finding them shows the scan reads where the rows are.
        Assert.True(Contains([.. ReadShared(db), .. ReadShared(db + "-wal")], "secret_access_key"));

        var row = Assert.Single(await home.Store.ListSecretsAsync());
        Assert.Equal(["region", "secret_access_key"], row.Keys);
        Assert.DoesNotContain(Distinctive, row.Payload);
        Assert.DoesNotContain(Distinctive, Encoding.UTF8.GetString(Convert.FromBase64String(row.Payload)));
        Assert.DoesNotContain(Distinctive, row.ToString());

        // Still readable by a later process on the same home.
        await using var again = await TestHome.OpenAsync(existing: home.Directory);
        Assert.Equal(Distinctive, (await again.Client.Secrets.GetAsync("aws"))["secret_access_key"]);
    }

    [Fact]
    public async Task The_key_file_is_created_on_first_use_readable_by_its_owner_only()
    {
        await using var home = await TestHome.OpenAsync();
        var keyPath = home.Client.Secrets.KeyPath;
        Assert.Equal(Path.Combine(home.Path, "secrets.key"), keyPath);

        await home.Client.Secrets.ListAsync();
        Assert.False(File.Exists(keyPath));

        await home.Client.Secrets.CreateAsync("db", Values(("password", Distinctive)));
        Assert.True(File.Exists(keyPath));
        Assert.Equal(32, new FileInfo(keyPath).Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        Assert.Equal(["secrets.key"], Directory.GetFiles(home.Path, "secrets.key*").Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_key_file_others_can_read_is_refused_with_the_chmod_fix()
    {
        if (OperatingSystem.IsWindows()) return;
        await using var home = await TestHome.OpenAsync();
        await home.Client.Secrets.CreateAsync("db", Values(("password", Distinctive)));
        var keyPath = home.Client.Secrets.KeyPath;
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using var other = await TestHome.OpenAsync(existing: home.Directory);
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => other.Client.Secrets.GetAsync("db"));
        Assert.Contains($"chmod 600 {keyPath}", e.Message);
        Assert.Contains("644", e.Message);
        await Assert.ThrowsAsync<StrataConfigException>(() => other.Client.Secrets.CreateAsync("other", Values(("k", "value"))));

        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(Distinctive, (await other.Client.Secrets.GetAsync("db"))["password"]);
    }

    [Fact]
    public async Task A_replaced_key_cannot_decrypt_and_the_error_shows_no_value()
    {
        await using var home = await TestHome.OpenAsync();
        await home.Client.Secrets.CreateAsync("db", Values(("password", Distinctive)));
        var keyPath = home.Client.Secrets.KeyPath;
        File.Delete(keyPath);

        await using var other = await TestHome.OpenAsync(existing: home.Directory);
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => other.Client.Secrets.GetAsync("db"));
        Assert.Contains("'db'", e.Message);
        Assert.Contains("cannot be decrypted", e.Message);
        Assert.DoesNotContain(Distinctive, e.ToString());
    }

    [Fact]
    public async Task Create_get_list_describe_round_trip_without_values_where_they_are_not_asked_for()
    {
        await using var home = await TestHome.OpenAsync();
        var secrets = home.Client.Secrets;
        var multiLine = "line one\nline two=with \"quotes\" and ünïcode\n";

        var created = await secrets.CreateAsync("aws.prod", Values(("aws_access_key_id", "AKIA" + Distinctive), ("pem", multiLine)));
        Assert.Equal("aws.prod", created.Name);
        Assert.Equal(["aws_access_key_id", "pem"], created.Keys);

        var values = await secrets.GetAsync("aws.prod");
        Assert.Equal("AKIA" + Distinctive, values["aws_access_key_id"]);
        Assert.Equal(multiLine, values["pem"]);

        var listed = Assert.Single(await secrets.ListAsync());
        Assert.Equal((created.Id, created.Name, created.CreatedAt), (listed.Id, listed.Name, listed.CreatedAt));
        Assert.Equal(created.Keys, listed.Keys);
        Assert.DoesNotContain(Distinctive, listed.ToString());

        var described = await secrets.DescribeAsync("aws.prod");
        Assert.Equal(new Dictionary<string, string> { ["aws_access_key_id"] = "********", ["pem"] = "********" }, described.MaskedValues);
        Assert.DoesNotContain(Distinctive, described.ToString());

        var duplicate = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.CreateAsync("aws.prod", Values(("k", "v2345"))));
        Assert.Contains("already exists", duplicate.Message);
        Assert.Contains("strata secret update aws.prod", duplicate.Message);
    }

    [Fact]
    public async Task Update_sets_adds_and_removes_keys_and_delete_removes_the_secret()
    {
        await using var home = await TestHome.OpenAsync();
        var secrets = home.Client.Secrets;
        var created = await secrets.CreateAsync("db", Values(("user", "admin"), ("password", "old-password")));

        var updated = await secrets.UpdateAsync("db", Values(("password", Distinctive), ("host", "db.local"), ("user", "")));
        Assert.Equal(["host", "password"], updated.Keys);
        Assert.Equal(created.CreatedAt, updated.CreatedAt);
        Assert.True(updated.UpdatedAt >= created.UpdatedAt);
        Assert.Equal(new Dictionary<string, string> { ["host"] = "db.local", ["password"] = Distinctive }, await secrets.GetAsync("db"));

        var nothingLeft = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.UpdateAsync("db", Values(("host", ""), ("password", ""))));
        Assert.Contains("strata secret delete db", nothingLeft.Message);
        var noSuchKey = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.UpdateAsync("db", Values(("port", ""))));
        Assert.Contains("'port'", noSuchKey.Message);
        Assert.DoesNotContain(Distinctive, noSuchKey.Message);
        var noSuchSecret = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.UpdateAsync("nope", Values(("a", "bcde"))));
        Assert.Contains("No secret named 'nope'", noSuchSecret.Message);

        await secrets.DeleteAsync("db");
        Assert.Empty(await secrets.ListAsync());
        await Assert.ThrowsAsync<StrataConfigException>(() => secrets.GetAsync("db"));
        await Assert.ThrowsAsync<StrataConfigException>(() => secrets.DeleteAsync("db"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-aws")]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("aws\n")]
    [InlineData("{{aws}}")]
    public async Task Bad_names_are_refused(string name)
    {
        await using var home = await TestHome.OpenAsync();
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Secrets.CreateAsync(name, Values(("k", "value"))));
        Assert.Contains("not a valid secret name", e.Message);
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("key=")]
    public async Task Bad_keys_are_refused_without_showing_values(string key)
    {
        await using var home = await TestHome.OpenAsync();
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => home.Client.Secrets.CreateAsync("s", Values((key, Distinctive))));
        Assert.Contains("not a valid key", e.Message);
        Assert.DoesNotContain(Distinctive, e.Message);
    }

    [Fact]
    public async Task Empty_values_and_no_values_are_refused()
    {
        await using var home = await TestHome.OpenAsync();
        var secrets = home.Client.Secrets;
        var empty = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.CreateAsync("s", Values(("a", "value"), ("b", ""))));
        Assert.Contains("'b' has an empty value", empty.Message);
        await Assert.ThrowsAsync<StrataConfigException>(() => secrets.CreateAsync("s", Values()));
        Assert.Empty(await secrets.ListAsync());
    }

    [Fact]
    public async Task Step_environment_upper_cases_keys_and_names_both_sides_of_a_conflict()
    {
        await using var home = await TestHome.OpenAsync();
        var secrets = home.Client.Secrets;
        await secrets.CreateAsync("aws", Values(("aws_access_key_id", "AKIA1234"), ("aws-secret-access-key", Distinctive)));
        await secrets.CreateAsync("wandb", Values(("api_key", "wandb-key")));

        var environment = await secrets.EnvironmentForAsync(["aws", "wandb", "aws"]);
        Assert.Equal(new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = "AKIA1234",
            ["AWS_SECRET_ACCESS_KEY"] = Distinctive,
            ["API_KEY"] = "wandb-key",
        }, environment);
        Assert.Empty(await secrets.EnvironmentForAsync([]));
        Assert.Equal("A_B_C", SecretManager.EnvironmentName("a-b_c"));

        await secrets.CreateAsync("other", Values(("API-KEY", "other-key")));
        var conflict = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.EnvironmentForAsync(["wandb", "other"]));
        Assert.Contains("'wandb.api_key'", conflict.Message);
        Assert.Contains("'other.API-KEY'", conflict.Message);
        Assert.Contains("API_KEY", conflict.Message);
        Assert.DoesNotContain("wandb-key", conflict.Message);
        Assert.DoesNotContain("other-key", conflict.Message);

        var missing = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.EnvironmentForAsync(["aws", "gcp"]));
        Assert.Contains("'gcp'", missing.Message);
    }

    [Fact]
    public async Task Validate_lists_every_missing_secret()
    {
        await using var home = await TestHome.OpenAsync();
        var secrets = home.Client.Secrets;
        await secrets.CreateAsync("aws", Values(("k", "value")));

        await secrets.ValidateAsync(["aws", "aws"]);
        await secrets.ValidateAsync([]);
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => secrets.ValidateAsync(["gcp", "aws", "azure"]));
        Assert.Contains("'azure'", e.Message);
        Assert.Contains("'gcp'", e.Message);
        Assert.DoesNotContain("'aws'", e.Message);
        Assert.Contains("strata secret create", e.Message);
    }

    [Fact]
    public void A_step_names_the_secrets_its_job_receives()
    {
        Assert.Equal(["aws", "wandb"], StepDefinition.For(SecretSteps.Upload).Secrets);
        Assert.Empty(StepDefinition.For(SecretSteps.Plain).Secrets);
    }
}

public static class SecretSteps
{
    [Step(Secrets = ["aws", "wandb", "aws"])]
    public static int Upload(int x) => x;

    [Step]
    public static int Plain(int x) => x;
}
