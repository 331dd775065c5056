# Creating an email identity makes SES send a verification link to the address;
# sending fails until it is clicked.
resource "aws_sesv2_email_identity" "sender" {
  email_identity = var.sender_email
}

# In the SES sandbox, mail may only go to verified identities, and the sender's
# IAM permission is checked against the recipient's identity as well. (Equality
# of the two addresses reveals neither, hence nonsensitive.)
resource "aws_sesv2_email_identity" "recipient" {
  count = var.ses_sandbox && nonsensitive(var.recipient_email != var.sender_email) ? 1 : 0

  email_identity = var.recipient_email
}
