"""contextpack as the compression step of a LangChain retrieval chain.

    pip install 'contextpack[langchain]'
    python examples/langchain_compressor.py

Offline: the vector store uses LangChain's deterministic fake embeddings (a real app would
use a real embedding model); contextpack ranks with its own bundled models.
"""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from contextpack.integrations.langchain import ContextpackCompressor

CORPUS = {
    "billing/invoice.py": '''def total(lines):
    """Sum of the invoice lines, tax included."""
    return sum(line.amount * (1 + line.tax_rate) for line in lines)


def overdue(invoices, today):
    """Invoices past their due date and not paid."""
    return [i for i in invoices if i.due < today and not i.paid]
''',
    "auth/passwords.py": '''import hashlib


def hash_password(password, salt):
    """PBKDF2 with 600,000 iterations."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 600_000)
''',
    "docs/deploy.md": "# Deploying\n\nBuild the image, push it, then run the migrations.\n",
}


def main() -> None:
    docs = [Document(page_content=text, metadata={"source": path})
            for path, text in CORPUS.items()]
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=64))
    store.add_documents(docs)
    retriever = store.as_retriever(search_kwargs={"k": len(docs)})
    compressor = ContextpackCompressor(budget=60)

    chain = RunnableParallel(docs=retriever, query=RunnablePassthrough()) | RunnableLambda(
        lambda x: compressor.compress_documents(x["docs"], x["query"]))
    for doc in chain.invoke("how are overdue invoices found?"):
        m = doc.metadata
        print(f"--- {m['source']} (score {m['contextpack_score']:.3f}, "
              f"{m['contextpack_view']}, {m['contextpack_tokens']} tokens)")
        print(doc.page_content)


if __name__ == "__main__":
    main()
