namespace Strata.Tests.Secrets;

public class SecretMaskerTests
{
    [Fact]
    public void Every_occurrence_of_every_value_is_masked()
    {
        var masker = new SecretMasker(["hunter2-long", "AKIAEXAMPLE"]);
        Assert.Equal("user=admin pass=**** again **** key=****;", masker.Mask("user=admin pass=hunter2-long again hunter2-long key=AKIAEXAMPLE;"));
        Assert.Equal("nothing to hide", masker.Mask("nothing to hide"));
    }

    [Fact]
    public void Values_shorter_than_four_characters_are_left_alone()
    {
        var masker = new SecretMasker(["abc", "1", "", "abcd"]);
        Assert.Equal("abc 1 ****", masker.Mask("abc 1 abcd"));
    }

    [Fact]
    public void A_value_containing_another_is_masked_whole()
    {
        var masker = new SecretMasker(["pass", "password-123"]);
        Assert.Equal("**** and ****", masker.Mask("password-123 and pass"));
    }

    [Fact]
    public void The_lines_of_a_multi_line_value_are_masked_one_by_one()
    {
        var pem = "-----BEGIN KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0B\r\n-----END KEY-----";
        var masker = new SecretMasker([pem]);
        Assert.Equal("line: ****", masker.Mask("line: MIIEvQIBADANBgkqhkiG9w0B"));
        Assert.Equal("whole: ****", masker.Mask("whole: " + pem));
    }
}
