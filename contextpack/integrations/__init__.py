"""Drop-in components for RAG frameworks, each behind its extra and imported only when
asked for, so ``import contextpack`` never loads a framework::

    from contextpack.integrations.langchain import ContextpackCompressor   # [langchain]
    from contextpack.integrations.llamaindex import ContextpackPostprocessor  # [llamaindex]
"""
