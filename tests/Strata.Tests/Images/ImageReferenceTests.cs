namespace Strata.Tests.Images;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("localhost:5000/strata/dotnet-runtime:10.0.12", "localhost:5000", "strata/dotnet-runtime", "10.0.12", null)]
    [InlineData("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "team/app", "1", null)]
    [InlineData("mcr.microsoft.com/dotnet/runtime:10.0", "mcr.microsoft.com", "dotnet/runtime", "10.0", null)]
    [InlineData("ubuntu", ImageReference.DockerHub, "library/ubuntu", null, null)]
    [InlineData("team/app:Latest_1", ImageReference.DockerHub, "team/app", "Latest_1", null)]
    [InlineData("localhost/app@sha256:abc", "localhost", "app", null, "sha256:abc")]
    public void An_image_name_splits_as_registries_read_it(string image, string registry, string repository, string? tag, string? digest)
    {
        var parsed = ImageReference.Parse(image);
        Assert.Equal(new ImageReference(registry, repository, tag, digest), parsed);
        Assert.Equal(digest ?? tag ?? "latest", parsed.Reference);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Team/App:1")]
    [InlineData("localhost:5000/app:")]
    [InlineData("app with space")]
    public void A_name_that_is_not_an_image_is_refused(string image) =>
        Assert.Contains("is not an image name", Assert.Throws<StrataConfigException>(() => ImageReference.Parse(image)).Message);

    [Theory]
    [InlineData("localhost:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("registry.example.com", false)]
    public void Plain_http_is_for_loopback_registries_and_those_marked_insecure(string host, bool loopback)
    {
        Assert.Equal(loopback, ImageReference.IsLoopback(host));
        Assert.Equal(loopback, new ContainerRegistry(host).UsesHttp(host));
        Assert.True(new ContainerRegistry(host, insecure: true).UsesHttp(host));
    }

    [Fact]
    public void A_registry_uri_gives_the_host_the_prefix_and_job_image_names()
    {
        var registry = new ContainerRegistry("https://localhost:5000/team/ml/");
        Assert.Equal("localhost:5000", registry.Host);
        Assert.Equal("team/ml", registry.Prefix);
        Assert.Equal("localhost:5000/team/ml/app:abc", registry.ImageFor("app", "abc").ToString());
        Assert.Throws<StrataConfigException>(() => new ContainerRegistry("localhost:5000/Team"));
    }
}
